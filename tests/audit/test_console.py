"""The DPO console: flagged traces first with their reason, reviews in their own table and traced, no medical content."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent, AuditReview
from records.services import emergency, patients, reports

from .conftest import local


@pytest.fixture
def glass_broken(dr_leroy, camille, camille_stay):
    """dr.leroy (Orthopédie) breaks the glass on Camille's record and opens it."""
    emergency.emergency_access_grant(
        actor=dr_leroy, patient_id=camille.public_id, reason="Patiente inconsciente admise aux urgences"
    )
    patients.record_open(actor=dr_leroy, patient_id=camille.public_id)
    return AuditEvent.objects.get(actor_username="dr.leroy", action="emergency_access")


def test_dpo_sees_the_emergency_access_at_the_top_of_her_console(
    client, dpo, glass_broken, dr_bernard, camille, settings
):
    # Whatever the hour the test runs at, the care-team read below is a normal one.
    settings.AUDIT_FLAG_WORKING_HOURS_START, settings.AUDIT_FLAG_WORKING_HOURS_END = 0, 24
    settings.AUDIT_FLAG_WEEKENDS = False
    patients.record_open(actor=dr_bernard, patient_id=camille.public_id)
    client.force_login(dpo)
    response = client.get(reverse("audit:console"))
    assert response.status_code == 200
    flagged = response.context["flagged"]
    # The break-glass and the read made under it, newest first; dr.bernard's read is not flagged.
    assert [e.action for e in flagged] == ["read", "emergency_access"]
    assert flagged[1] == glass_broken
    assert all(e.actor_username == "dr.leroy" for e in flagged)
    assert all("accès d'urgence (bris de glace)" in e.flag_labels for e in flagged)


def test_reading_the_console_is_traced_once_naming_the_ids_shown(client, dpo, glass_broken):
    client.force_login(dpo)
    response = client.get(reverse("audit:console"))
    shown = {str(e.public_id) for e in response.context["flagged"] + response.context["events"]}
    traces = AuditEvent.objects.filter(actor_username="dpo.mercier", mode="dpo_review", action="list")
    assert traces.count() == 1
    assert set(traces.get().object_ids) == shown
    assert str(glass_broken.public_id) in shown


def test_console_filters_by_actor_mode_outcome_and_dates(client, dpo, make_trace):
    early = make_trace(actor_username="dr.a", at=local(2026, 1, 5, 10))
    late = make_trace(actor_username="dr.a", at=local(2026, 2, 5, 10), outcome="denied", mode="")
    other = make_trace(actor_username="dr.b", at=local(2026, 2, 5, 11))
    client.force_login(dpo)
    response = client.get(reverse("audit:console"), {"actor": "dr.a", "since": "2026-02-01", "until": "2026-02-28"})
    assert list(response.context["events"]) == [late]
    response = client.get(
        reverse("audit:console"), {"outcome": "allowed", "since": "2026-01-01", "until": "2026-03-01"}
    )
    assert set(response.context["events"]) == {early, other}


def test_a_bad_date_filter_gets_a_french_message(client, dpo):
    client.force_login(dpo)
    response = client.get(reverse("audit:console"), {"since": "hier"}, follow=True)
    assert response.status_code == 200
    assert "Date invalide" in response.content.decode()


def test_a_reviewed_flag_keeps_its_comment_and_its_trace(client, dpo, glass_broken):
    client.force_login(dpo)
    url = reverse("audit:review", args=[glass_broken.public_id])
    assert client.get(url).status_code == 200
    response = client.post(url, {"comment": "Urgence vitale confirmée par le service."})
    assert response.status_code == 302
    review = AuditReview.objects.get(event=glass_broken)
    assert review.comment == "Urgence vitale confirmée par le service."
    assert review.flag_reasons == ["emergency_access"]
    trace = AuditEvent.objects.get(action="review", actor_username="dpo.mercier")
    assert trace.mode == "dpo_review"
    assert trace.object_id == str(glass_broken.public_id)
    assert trace.object_ids == [str(review.public_id)]
    # The trace itself is untouched and the console now shows it reviewed, after unreviewed flags.
    glass_broken.refresh_from_db()
    assert glass_broken.flagged and glass_broken.flag_reason == "emergency_access"
    response = client.get(reverse("audit:console"))
    assert "Voir la revue" in response.content.decode()


def test_unreviewed_flags_come_before_reviewed_ones(client, dpo, make_trace):
    first = make_trace(mode="emergency", action="emergency_access", at=local(2026, 3, 10, 9))
    second = make_trace(mode="emergency", action="emergency_access", at=local(2026, 3, 10, 10))
    client.force_login(dpo)
    client.post(reverse("audit:review", args=[second.public_id]), {"comment": "vu"})
    response = client.get(reverse("audit:console"), {"since": "2026-03-01"})
    assert list(response.context["flagged"]) == [first, second]


def test_a_review_needs_a_comment_and_happens_once(client, dpo, glass_broken):
    client.force_login(dpo)
    url = reverse("audit:review", args=[glass_broken.public_id])
    response = client.post(url, {"comment": "   "}, follow=True)
    assert "Le commentaire de la revue est obligatoire." in response.content.decode()
    assert not AuditReview.objects.exists()
    client.post(url, {"comment": "vu"})
    response = client.post(url, {"comment": "encore"}, follow=True)
    assert "déjà été revue" in response.content.decode()
    assert AuditReview.objects.get().comment == "vu"


def test_an_unflagged_trace_cannot_be_reviewed(client, dpo, make_trace):
    quiet = make_trace()
    client.force_login(dpo)
    client.post(reverse("audit:review", args=[quiet.public_id]), {"comment": "rien"})
    assert not AuditReview.objects.exists()


def test_a_review_cannot_be_edited(dpo, glass_broken):
    from audit import review

    review = review.flag_review(actor=dpo, event_id=glass_broken.public_id, comment="vu")
    review.comment = "changé"
    with pytest.raises(PermissionError):
        review.save()


def test_a_clinician_is_refused_the_console_and_the_refusal_is_traced(client, dr_bernard):
    client.force_login(dr_bernard)
    assert client.get(reverse("audit:console")).status_code == 403
    assert AuditEvent.objects.filter(actor_username="dr.bernard", outcome="denied", object_type="audit_event").exists()


def test_the_console_shows_no_medical_content(client, dpo, dr_bernard, camille, discharge_letter):
    patients.record_open(actor=dr_bernard, patient_id=camille.public_id)
    reports.report_open(actor=dr_bernard, report_id=discharge_letter.public_id)
    client.force_login(dpo)
    page = client.get(reverse("audit:console")).content.decode()
    assert "dr.bernard" in page or "Bernard" in page
    assert discharge_letter.title not in page
    assert discharge_letter.body[:30] not in page
    assert "Fibrillation atriale" not in page


def test_the_dpo_is_refused_document_content(client, dpo, discharge_letter):
    client.force_login(dpo)
    response = client.get(reverse("records:report_detail", args=[discharge_letter.public_id]))
    assert response.status_code in (403, 404)
    assert discharge_letter.body[:30] not in response.content.decode()
    assert AuditEvent.objects.filter(actor_username="dpo.mercier", outcome="denied", object_type="report").exists()


def test_verify_now_shows_the_last_verification(client, dpo, make_trace):
    make_trace()
    client.force_login(dpo)
    response = client.post(reverse("audit:verify"), follow=True)
    page = response.content.decode()
    assert "Intégrité vérifiée" in page
    assert "Dernière vérification le" in page
    assert AuditEvent.objects.filter(actor_username="dpo.mercier", action="verify").exists()
