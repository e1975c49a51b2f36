"""Receivers of the hospital record's signals (records never imports dmp): the feed's outbox rows, the feed states."""

from django.dispatch import receiver

from records.signals import identity_qualified, report_feed_states, report_signed, stay_secret_changed

from ..services.documents import chu_documents_secret
from . import outbox, states


@receiver(report_signed, dispatch_uid="dmp.feed.report_signed")
def offer_signed_report(sender, report, **kwargs) -> None:
    """Inside the signing transaction: the outbox row commits with the signature, or not at all."""
    outbox.feed_item_create(report=report)


@receiver(identity_qualified, dispatch_uid="dmp.feed.identity_qualified")
def release_waiting_items(sender, patient, **kwargs) -> None:
    """Inside the qualifying transaction: what waited for the qualified identity goes after commit."""
    outbox.feed_release_identity(patient=patient)


@receiver(report_feed_states, dispatch_uid="dmp.feed.report_feed_states")
def report_feed_states_of(sender, actor, reports, **kwargs) -> dict:
    """While the record page is read: what became of each signed report (waiting, delivered, held, released...)."""
    return states.feed_states(actor=actor, reports=reports)


@receiver(stay_secret_changed, dispatch_uid="dmp.feed.stay_secret_changed")
def follow_stay_secret(sender, stay, **kwargs) -> None:
    """Inside the transaction that keeps a minor's stay secret (or lifts it): the documents already fed from its
    reports follow (CSP L.1111-5); those not fed yet are filed with the stay's flag (dmp/feed/delivery.py)."""
    chu_documents_secret(stay=stay)
