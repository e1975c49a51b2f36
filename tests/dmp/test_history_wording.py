"""The patient's access history reads well: grouped by day, in plain French, emergencies highlighted."""

import pathlib
import re

from django.urls import reverse

from audit import constants as audit_constants
from audit import labels
from audit.constants import Action, Mode
from dmp.consent import emergency, grants
from dmp.constants import DmpAction, FeedAction, GrantSource
from dmp.services import documents, history, history_wording, professionals
from record_requests.constants import RecordRequestAction
from records.constants import CareAction, IdentityAction


def test_reads_under_consent_are_one_sentence_with_the_date_of_the_authorisation(
    client, camille, camille_dmp, fed_letter, operative_report, dr_garnier
):
    given = grants.grant_create(
        actor=camille.account,
        record=camille_dmp,
        professional=dr_garnier,
        source=GrantSource.CONSENT,
        duration_days=365,
    )
    for document in (fed_letter, operative_report, fed_letter):
        documents.document_open(actor=dr_garnier, document_id=document.public_id)
    client.force_login(camille.account)
    body = client.get(reverse("dmp:history")).content.decode()
    # issue 20: two documents (one opened twice), both named, the three openings said
    assert "Paul Garnier, médecin</strong> a consulté 2 documents de votre DMP : « " in body
    assert "(3 fois)" in body
    assert f"accès autorisé par vous le {given.starts.astimezone().strftime('%d/%m/%Y')}" in body


def test_an_emergency_access_stands_out(client, camille, camille_dmp, fed_letter, dr_garnier):
    emergency.emergency_access_open(
        actor=dr_garnier, patient_id=camille.public_id, reason="Malaise au cabinet, patiente inconsciente"
    )
    documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)
    client.force_login(camille.account)
    body = client.get(reverse("dmp:history")).content.decode()
    assert "history-emergency" in body and "accès d&#x27;urgence (bris de glace)" in body


def test_the_history_is_grouped_by_day(camille, camille_dmp, fed_letter, dr_moreau):
    documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    page = history.access_history(actor=camille.account, patient_id=camille.public_id)
    assert len(page.days) == 1
    entry = page.days[0].entries[0]
    assert entry.how == "en tant que votre médecin traitant" and entry.count == 1


# --- issue 20: every code of the trace vocabulary in words, duplicates merged, documents named, times as said ---

ROOT = pathlib.Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "records", "dmp", "record_requests", "fhir")


def _literals(pattern: str) -> set[str]:
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            found |= set(re.findall(pattern, path.read_text()))
    return found


def trace_actions() -> set[str]:
    """Every action a trace may carry: the enums of every app, and literals written at a call."""
    actions = {a.value for a in Action} | {a.value for a in DmpAction} | {a.value for a in FeedAction}
    actions |= {a.value for a in CareAction}
    actions |= {a.value for a in IdentityAction}
    actions |= {a.value for a in RecordRequestAction}
    return actions | _literals(r'\baction="([a-z_]+)"') - {"store_true", "store_false"}


def object_types() -> set[str]:
    types = _literals(r'\bobject_type="([a-z_]+)"') | _literals(r'\bOBJECT_TYPE = "([a-z_]+)"')
    return types | {t.value for t in getattr(audit_constants, "ObjectType", [])}


def test_every_action_object_type_and_mode_of_the_vocabulary_has_words():
    assert {"lookup", "emergency_access", "transfer", "dmp_document", "hospital_record"} <= (
        trace_actions() | object_types()
    )
    assert sorted(a for a in trace_actions() if not history_wording.has_words(a)) == []
    assert sorted(t for t in object_types() if not history_wording.has_noun(t)) == []
    assert sorted(m.value for m in Mode if m.value and not history_wording.how(m.value, "allowed")) == []
    # and the DPO console's labels (audit/labels.py) name them all too
    assert sorted(trace_actions() - set(labels.ACTION_LABELS)) == []
    assert sorted(object_types() - set(labels.OBJECT_LABELS)) == []
    assert sorted({m.value for m in Mode} - set(labels.MODE_LABELS)) == []


def visible_text(html: str) -> str:
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"<[^>]+>", " ", main)


def raw_codes(text: str) -> list[str]:
    codes = trace_actions() | object_types() | {m.value for m in Mode if m.value}
    return sorted(c for c in codes if re.search(rf"(?<![\w/-]){re.escape(c)}(?![\w/-])", text))


def test_the_rendered_history_has_no_raw_code_and_reads_like_sentences(
    client, camille, camille_dmp, fed_letter, dr_garnier, dr_moreau, settings
):
    # the GP opens a document page: its metadata and its file are one line, the document named
    documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    documents.document_content(actor=dr_moreau, document_id=fed_letter.public_id)[1].close()
    # an outsider looks the patient up (a search, not a refusal), then breaks the glass with a reason
    professionals.patient_lookup(actor=dr_garnier, ins=camille.nir, birth_date=camille.birth_date.isoformat())
    emergency.emergency_access_open(
        actor=dr_garnier, patient_id=camille.public_id, reason="Malaise au cabinet, patiente inconsciente"
    )
    client.force_login(camille.account)
    html = client.get(reverse("dmp:history")).content.decode()
    text = " ".join(visible_text(html).split())
    assert raw_codes(text) == []
    assert text.count(f"a consulté votre document « {fed_letter.title} »") == 1
    assert "Paul Garnier, médecin a cherché votre dossier" in text
    assert "accès refusé" not in text
    assert "a ouvert un accès d'urgence à votre DMP" in text.replace("&#x27;", "'")
    assert "Malaise au cabinet, patiente inconsciente" in text
    assert re.search(r"\bà \d{1,2} h \d{2}\b", text)
    assert not re.search(r"\d{2}:\d{2} – \d{2}:\d{2}", text) and " — — " not in text


def test_english_times_and_sentences(client, camille, camille_dmp, fed_letter, dr_moreau):
    documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    client.force_login(camille.account)
    client.cookies["django_language"] = "en"
    text = " ".join(visible_text(client.get(reverse("dmp:history")).content.decode()).split())
    assert f"viewed your document “{fed_letter.title}”" in text
    assert re.search(r"\bat \d{1,2}:\d{2} [ap]m\b", text)
    assert [c for c in raw_codes(text) if "_" in c] == []
