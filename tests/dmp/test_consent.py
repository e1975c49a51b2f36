"""Consent at the consultation (docs/domain.md, "Consent"): asking, answering, in-person consent, grants that expire or are revoked."""

import datetime

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit.constants import Mode
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, InvalidInput
from dmp import access
from dmp.consent import blocking, requests, tasks
from dmp.consent import grants as consent_grants
from dmp.constants import ConsentStatus, DmpAction, GrantSource, NotificationKind
from dmp.models import AccessGrant, ConsentRequest, Notification, SharedRecordUserObjectPermission
from dmp.services import documents, history

pytestmark = pytest.mark.django_db


@pytest.fixture
def travel(monkeypatch):
    """Time travel: every `timezone.now()` of the code under test answers `now + delta`."""
    real_now = timezone.now

    def to(delta: datetime.timedelta):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)

    return to


def visible_ids(user, patient):
    return {d.public_id for d in access.documents_visible_to(user, patient)}


def ask(professional, patient, purpose="Suivi cardiologique après votre hospitalisation", **kwargs):
    return requests.consent_request_create(actor=professional, patient_id=patient.public_id, purpose=purpose, **kwargs)


def test_a_request_notifies_the_patient_with_who_asks_why_and_for_how_long(camille, camille_dmp, dr_garnier):
    consent_request = ask(dr_garnier, camille, duration_days=90)
    assert consent_request.status == ConsentStatus.PENDING
    note = Notification.objects.get(recipient=camille.account, kind=NotificationKind.CONSENT_REQUEST)
    assert "Dr Paul Garnier" in note.message and dr_garnier.rpps in note.message
    assert "90 jours" in note.message and "Suivi cardiologique" in note.message
    assert AuditEvent.objects.filter(
        action=DmpAction.CONSENT_REQUEST, patient_id=camille.public_id, actor_id=dr_garnier.public_id
    ).exists()


def test_a_pending_request_opens_nothing(camille, camille_dmp, dr_garnier, fed_letter):
    ask(dr_garnier, camille)
    assert visible_ids(dr_garnier, camille) == set()
    assert not AccessGrant.objects.exists()


def test_the_duration_defaults_to_a_year_and_is_capped_by_a_setting(camille, camille_dmp, dr_garnier, settings):
    assert ask(dr_garnier, camille).duration_days == django_settings.DMP_GRANT_DEFAULT_DAYS == 365
    ConsentRequest.objects.all().delete()
    settings.DMP_GRANT_MAX_DAYS = 30
    with pytest.raises(InvalidInput) as refused:
        ask(dr_garnier, camille, duration_days=31)
    assert "duration_days" in refused.value.fields
    assert not ConsentRequest.objects.exists()
    assert ask(dr_garnier, camille, duration_days=30).duration_days == 30


def test_a_request_needs_a_purpose(camille, camille_dmp, dr_garnier):
    with pytest.raises(InvalidInput) as refused:
        ask(dr_garnier, camille, purpose="   ")
    assert "purpose" in refused.value.fields
    assert not ConsentRequest.objects.exists()


def test_approval_creates_a_consent_grant_for_the_asked_duration(camille, camille_dmp, dr_garnier, fed_letter):
    consent_request = ask(dr_garnier, camille, duration_days=30)
    approved = requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id)
    grant = approved.grant
    assert approved.status == ConsentStatus.APPROVED and grant.source == GrantSource.CONSENT
    assert grant.professional == dr_garnier and (grant.expires - grant.starts).days == 30
    assert visible_ids(dr_garnier, camille) == {fed_letter.public_id}
    page = documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert page.decision.mode == Mode.CONSENT


def test_denial_grants_nothing(camille, camille_dmp, dr_garnier, fed_letter):
    consent_request = ask(dr_garnier, camille)
    denied = requests.consent_request_deny(actor=camille.account, request_id=consent_request.public_id)
    assert denied.status == ConsentStatus.DENIED and denied.grant is None
    assert not AccessGrant.objects.exists()
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert refused.value.code == "forbidden"


def test_a_request_is_answered_once(camille, camille_dmp, dr_garnier):
    consent_request = ask(dr_garnier, camille)
    requests.consent_request_deny(actor=camille.account, request_id=consent_request.public_id)
    with pytest.raises(Conflict):
        requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id)
    assert not AccessGrant.objects.exists()


def test_only_the_patient_answers_a_request_addressed_to_her(camille, camille_dmp, dr_garnier, other_patient):
    consent_request = ask(dr_garnier, camille)
    for intruder in (dr_garnier, other_patient.account):
        with pytest.raises(AccessDenied) as refused:
            requests.consent_request_approve(actor=intruder, request_id=consent_request.public_id)
        assert refused.value.status == 404
    assert ConsentRequest.objects.get(pk=consent_request.pk).status == ConsentStatus.PENDING
    assert AuditEvent.objects.filter(action=DmpAction.CONSENT_APPROVE, outcome="denied").count() == 2


def test_one_pending_request_at_a_time(camille, camille_dmp, dr_garnier):
    ask(dr_garnier, camille)
    with pytest.raises(Conflict):
        ask(dr_garnier, camille)
    with pytest.raises(IntegrityError):  # the database says so too
        ConsentRequest.objects.create(record=camille_dmp, professional=dr_garnier, purpose="x", duration_days=1)


def test_asking_while_authorised_is_a_conflict(camille, camille_dmp, dr_garnier, dr_moreau):
    requests.consent_request_approve(actor=camille.account, request_id=ask(dr_garnier, camille).public_id)
    with pytest.raises(Conflict):
        ask(dr_garnier, camille)
    with pytest.raises(Conflict):  # the GP reads the DMP already
        ask(dr_moreau, camille)


def test_a_blocked_professional_cannot_even_ask(camille, camille_dmp, dr_garnier):
    blocking.professional_block(actor=camille.account, rpps=dr_garnier.rpps)
    with pytest.raises(AccessDenied) as refused:
        ask(dr_garnier, camille)
    assert refused.value.code == "blocked"
    assert not ConsentRequest.objects.exists()
    assert not Notification.objects.filter(kind=NotificationKind.CONSENT_REQUEST).exists()


def test_in_person_consent_states_the_patient_presence_is_traced_flagged_and_notified(
    camille, camille_dmp, dr_garnier, fed_letter
):
    with pytest.raises(InvalidInput) as refused:
        consent_grants.consent_in_person_record(
            actor=dr_garnier, patient_id=camille.public_id, purpose="Consultation", patient_present=False
        )
    assert "patient_present" in refused.value.fields
    assert not AccessGrant.objects.exists()
    grant = consent_grants.consent_in_person_record(
        actor=dr_garnier, patient_id=camille.public_id, purpose="Consultation de cardiologie", patient_present=True
    )
    assert grant.source == GrantSource.IN_PERSON_CONSENT and grant.professional == dr_garnier
    trace = AuditEvent.objects.get(action=DmpAction.GRANT, object_id=str(grant.public_id))
    assert trace.mode == Mode.IN_PERSON_CONSENT and trace.reason == "patient_present"
    from audit.flags import with_flags

    assert with_flags(AuditEvent.objects.filter(pk=trace.pk)).get().flag_in_person_consent
    note = Notification.objects.get(recipient=camille.account, kind=NotificationKind.NEW_ACCESS)
    assert "Dr Paul Garnier" in note.message and "révoquer" in note.message
    assert visible_ids(dr_garnier, camille) == {fed_letter.public_id}


def test_no_grant_without_the_patient_approving_or_the_professional_recording_in_person(
    camille, camille_dmp, dr_garnier, dr_bernard
):
    with pytest.raises(AccessDenied):  # a colleague cannot record consent on someone else's behalf
        consent_grants.grant_create(
            actor=dr_bernard, record=camille_dmp, professional=dr_garnier, source=GrantSource.IN_PERSON_CONSENT
        )
    with pytest.raises(AccessDenied):  # nor may a professional give themselves a portal consent
        consent_grants.grant_create(
            actor=dr_garnier, record=camille_dmp, professional=dr_garnier, source=GrantSource.CONSENT
        )
    assert not AccessGrant.objects.exists()


def test_an_expired_grant_is_never_honoured_even_before_the_clean_up(
    camille, camille_dmp, dr_garnier, fed_letter, travel
):
    consent_request = ask(dr_garnier, camille, duration_days=30)
    requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id)
    travel(datetime.timedelta(days=29))
    assert visible_ids(dr_garnier, camille) == {fed_letter.public_id}
    travel(datetime.timedelta(days=30, seconds=1))
    assert visible_ids(dr_garnier, camille) == set()
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert refused.value.code == "forbidden"
    with pytest.raises(AccessDenied) as refused:
        documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)
    assert refused.value.status == 404


def test_a_revoked_grant_is_never_honoured_even_if_an_old_permission_lingers(
    camille, camille_dmp, dr_garnier, fed_letter
):
    consent_request = ask(dr_garnier, camille)
    grant = requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id).grant
    consent_grants.grant_revoke(actor=camille.account, grant_id=grant.public_id)
    assign_perm("dmp.view_sharedrecord", dr_garnier, camille_dmp)  # as an older release wrote them
    assert visible_ids(dr_garnier, camille) == set()


def test_grants_write_no_object_permission(camille, camille_dmp, dr_garnier, ph_fournier):
    """Grants live in their table and are checked in SQL: no django-guardian copy that no decision reads."""
    grant = requests.consent_request_approve(actor=camille.account, request_id=ask(dr_garnier, camille).public_id).grant
    consent_grants.consent_in_person_record(
        actor=ph_fournier, patient_id=camille.public_id, purpose="Délivrance", patient_present=True
    )
    consent_grants.grant_revoke(actor=camille.account, grant_id=grant.public_id)
    assert AccessGrant.objects.count() == 2
    # The only object permissions are GP-level rights (the médecin traitant of the fixture).
    assert set(SharedRecordUserObjectPermission.objects.values_list("permission__codename", flat=True)) == {"gp_rights"}
    assert "dmp-grant-permissions-expire" not in django_settings.CELERY_BEAT_SCHEDULE


def test_the_data_migration_drops_the_old_grant_copies(camille_dmp, dr_garnier):
    """Rows an older release wrote beside each grant are removed by dmp/0008 (no schema change)."""
    from importlib import import_module

    from django.apps import apps

    assign_perm("dmp.view_sharedrecord", dr_garnier, camille_dmp)
    assign_perm("dmp.change_sharedrecord", dr_garnier, camille_dmp)  # not a grant's copy: kept
    import_module("dmp.migrations.0008_drop_grant_object_permissions").drop_grant_permissions(apps, None)
    kept = SharedRecordUserObjectPermission.objects.filter(user=dr_garnier).values_list(
        "permission__codename", flat=True
    )
    assert list(kept) == ["change_sharedrecord"]


def test_patient_lists_her_grants_and_revokes_one(camille, camille_dmp, dr_garnier, ph_fournier):
    requests.consent_request_approve(actor=camille.account, request_id=ask(dr_garnier, camille).public_id)
    in_person = consent_grants.consent_in_person_record(
        actor=ph_fournier, patient_id=camille.public_id, purpose="Délivrance", patient_present=True
    )
    grants = consent_grants.grants_list(actor=camille.account)
    assert {g.professional.username for g in grants} == {"dr.garnier", "ph.fournier"} and all(g.live for g in grants)
    consent_grants.grant_revoke(actor=camille.account, grant_id=in_person.public_id)
    live = {g.professional.username for g in consent_grants.grants_list(actor=camille.account) if g.live}
    assert live == {"dr.garnier"}
    with pytest.raises(AccessDenied):
        consent_grants.grants_list(actor=dr_garnier, patient_id=camille.public_id)


def test_every_step_shows_in_the_patient_access_history(camille, camille_dmp, dr_garnier, fed_letter):
    consent_request = ask(dr_garnier, camille)
    with pytest.raises(AccessDenied):
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id)
    documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    events = history.access_history(actor=camille.account).events
    seen = [(e.action, e.outcome, e.mode) for e in events if e.actor_id == dr_garnier.public_id]
    assert ("consent_request", "allowed", "") in seen
    assert ("list", "denied", "") in seen
    assert ("list", "allowed", Mode.CONSENT) in seen


@pytest.mark.parametrize("answer", ["approve", "deny"])
def test_the_professional_learns_the_patient_answer(camille, camille_dmp, dr_garnier, answer):
    consent_request = ask(dr_garnier, camille, duration_days=30)
    verb = requests.consent_request_approve if answer == "approve" else requests.consent_request_deny
    answered = verb(actor=camille.account, request_id=consent_request.public_id)
    note = Notification.objects.get(recipient=dr_garnier, kind=NotificationKind.CONSENT_ANSWER)
    assert note.record == camille_dmp and note.read_at is None and "Camille" in note.message
    if answer == "approve":
        assert "accepté" in note.message
        assert timezone.localtime(answered.grant.expires).strftime("%d/%m/%Y") in note.message
    else:
        assert "refusé" in note.message
    assert requests.consent_answers_seen(actor=dr_garnier) == 1
    assert Notification.objects.get(pk=note.pk).read_at is not None


def test_an_answer_that_fails_notifies_no_one(camille, camille_dmp, dr_garnier):
    consent_request = ask(dr_garnier, camille)
    requests.consent_request_deny(actor=camille.account, request_id=consent_request.public_id)
    with pytest.raises(Conflict):
        requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id)
    assert Notification.objects.filter(recipient=dr_garnier, kind=NotificationKind.CONSENT_ANSWER).count() == 1


def test_an_unanswered_request_expires_cannot_be_approved_and_may_be_asked_again(
    camille, camille_dmp, dr_garnier, travel, settings
):
    settings.DMP_CONSENT_REQUEST_EXPIRY_DAYS = 30
    first = ask(dr_garnier, camille)
    travel(datetime.timedelta(days=31))
    with pytest.raises(Conflict) as refused:
        requests.consent_request_approve(actor=camille.account, request_id=first.public_id)
    assert "expiré" in refused.value.message and not AccessGrant.objects.exists()
    second = ask(dr_garnier, camille)  # the stale question no longer blocks a new one
    assert ConsentRequest.objects.get(pk=first.pk).status == ConsentStatus.EXPIRED
    assert second.status == ConsentStatus.PENDING
    requests.consent_request_approve(actor=camille.account, request_id=second.public_id)


def test_the_beat_and_the_lists_expire_stale_requests(camille, camille_dmp, dr_garnier, travel, settings):
    settings.DMP_CONSENT_REQUEST_EXPIRY_DAYS = 30
    stale = ask(dr_garnier, camille)
    travel(datetime.timedelta(days=29))
    assert tasks.expire_consent_requests() == 0
    items, _total = requests.consent_requests_list(actor=camille.account)
    assert [r.status for r in items] == [ConsentStatus.PENDING]
    travel(datetime.timedelta(days=31))
    items, _total = requests.consent_requests_list(actor=dr_garnier)
    assert [r.status for r in items] == [ConsentStatus.EXPIRED] and items[0].decided_at is not None
    assert tasks.expire_consent_requests() == 0  # already done by the list
    assert ConsentRequest.objects.get(pk=stale.pk).status == ConsentStatus.EXPIRED
    assert "dmp-consent-requests-expire" in django_settings.CELERY_BEAT_SCHEDULE
