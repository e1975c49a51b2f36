"""Receivers of the hospital record's signals (records never imports dmp): the feed's outbox rows."""

from django.dispatch import receiver

from records.signals import identity_qualified, report_signed

from . import outbox


@receiver(report_signed, dispatch_uid="dmp.feed.report_signed")
def offer_signed_report(sender, report, **kwargs) -> None:
    """Inside the signing transaction: the outbox row commits with the signature, or not at all."""
    outbox.feed_item_create(report=report)


@receiver(identity_qualified, dispatch_uid="dmp.feed.identity_qualified")
def release_waiting_items(sender, patient, **kwargs) -> None:
    """Inside the qualifying transaction: what waited for the qualified identity goes after commit."""
    outbox.feed_release_identity(patient=patient)
