"""Stand-ins the rules machines need while two branches of the code disagree (each names when it goes away)."""


def notify_shim():
    """H-bundle's tasks tell the requester with a sentence (`notify.tell(request, message)`, `notify.tell_office`)
    where H-core's notify takes a step name: until the two agree, the sentences are not sent in this machine (the
    messages are not what it checks). Returns the patches started, stopped at teardown."""
    from unittest import mock

    from record_requests.services import notify

    if hasattr(notify, "tell_office") or not hasattr(notify, "STEPS"):
        return []
    original = notify.tell

    def tell(request, step, *args, **kwargs):
        if step in notify.STEPS:
            return original(request, step, *args, **kwargs)
        return None

    patches = [
        mock.patch.object(notify, "tell", tell),
        mock.patch.object(notify, "tell_office", lambda *a: None, create=True),
    ]
    for patch in patches:
        patch.start()
    return patches
