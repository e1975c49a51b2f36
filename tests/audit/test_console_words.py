"""The DPO console reads (issue 20): every column in words, the patient by name, IPP or INS (a traced search),
the emergency row with its reason, filters collapsed on a phone."""

import re

from django.urls import reverse

from audit import labels
from audit.constants import Mode
from audit.models import AuditEvent

from .conftest import WORKDAY_MORNING


def visible_text(html: str) -> str:
    main = html[html.index("<main") : html.index("</main>")]
    main = re.sub(r"<(select|option)[^>]*>.*?</\1>", " ", main, flags=re.S)  # the filters' own values
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


# Codes that are also plain French words.
FRENCH_WORDS = {"patient"}


def vocabulary() -> set[str]:
    codes = set(labels.ACTION_LABELS) | {c for c in labels.OBJECT_LABELS if c} | {m.value for m in Mode if m.value}
    return (codes | set(labels.ROLE_LABELS)) - FRENCH_WORDS


def test_every_column_is_filled_and_in_words(client, dpo, make_trace, camille):
    since = {"since": "2026-03-01", "until": "2026-03-31"}
    for action in labels.ACTION_LABELS:
        make_trace(action=action, object_type="dmp_document", mode="consent", patient_id=camille.public_id)
    for object_type in labels.OBJECT_LABELS:
        make_trace(object_type=object_type, actor_role="external_professional")
    for mode in Mode:
        make_trace(mode=mode.value, actor_role="dpo")
    make_trace(action="emergency_access", mode="emergency", reason="Patiente inconsciente", at=WORKDAY_MORNING)
    client.force_login(dpo)
    html = client.get(reverse("audit:console"), since).content.decode()
    text = visible_text(html)
    raw = sorted(c for c in vocabulary() if re.search(rf"(?<![\w/-]){re.escape(c)}(?![\w/-])", text))
    assert raw == []
    cells = re.findall(r'<td data-label="Action">(.*?)</td>', html, re.S)
    assert cells and all(re.sub(r"<[^>]+>", "", c).strip() for c in cells)
    assert "Recherche d&#x27;un DMP" in html and "Accès d&#x27;urgence (bris de glace)" in html
    assert "Motif : « Patiente inconsciente »" in html
    assert "Camille" in text and "Professionnel de santé (hors CHU)" in text
    # the filters offer the vocabulary in words, and filtering on an action of the DMP works
    assert '<option value="lookup"' in html
    response = client.get(reverse("audit:console"), {**since, "action": "lookup"})
    assert [e.action for e in response.context["events"]] == ["lookup"]


def test_the_dpo_finds_the_patient_by_name_ipp_or_ins_and_the_search_is_traced(
    client, dpo, make_trace, camille, other_patient
):
    mine = make_trace(patient_id=camille.public_id)
    make_trace(patient_id=other_patient.public_id)
    client.force_login(dpo)
    for query in ("martin", camille.ipp, camille.nir):
        response = client.get(reverse("audit:console"), {"who": query, "since": "2026-03-01"})
        assert list(response.context["events"]) == [mine], query
        assert "Traces du patient" in response.content.decode()
    searches = AuditEvent.objects.filter(actor_username="dpo.mercier", action="search", mode="dpo_review")
    assert searches.count() == 3
    assert all(s.object_ids == [str(camille.public_id)] for s in searches)


def test_the_patient_resolver_is_a_setting(client, dpo, make_trace, camille, settings):
    settings.AUDIT_PATIENT_RESOLVER = ""
    make_trace(patient_id=camille.public_id)
    client.force_login(dpo)
    response = client.get(reverse("audit:console"), {"who": "martin", "since": "2026-03-01"})
    assert response.status_code == 200 and "Aucun patient ne correspond" in response.content.decode()


def test_the_filters_are_collapsed_until_used(client, dpo):
    client.force_login(dpo)
    html = client.get(reverse("audit:console")).content.decode()
    assert '<details class="filters-panel">' in html
    html = client.get(reverse("audit:console"), {"mode": "emergency"}).content.decode()
    assert '<details class="filters-panel" open>' in html
