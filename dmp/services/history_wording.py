"""The access history's sentences: every trace action, object type and mode said in plain words, times as people say them.

One sentence per (who, what, how) and day: a document and its file are one document, the same sentence twice is
one line; a document is named when the reader may see it; an emergency access is named as such with its reason;
a professional's lookup is a search ("a cherché votre dossier"), not a refusal.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

# Modes that the patient must notice at a glance.
HIGHLIGHTED_MODES = {"emergency", "samu"}
# Object types that are one thing to the patient (a document and its file).
SAME_OBJECT = {"dmp_document_content": "dmp_document", "storage_file": "dmp_document", "access_grant": "dmp_grant"}
DOCUMENT_TYPES = {"dmp_document"}
# Actions that are searches: never a refusal to the patient (the professional did not read anything).
SEARCH_ACTIONS = {"lookup", "search"}


def _documents(n: int, titles: list[str]) -> str:
    if titles and len(titles) == n:
        quoted = ", ".join(_("« %(title)s »") % {"title": t} for t in titles)
        return ngettext("votre document %(titles)s", "%(n)s documents de votre DMP : %(titles)s", n) % {
            "n": n,
            "titles": quoted,
        }
    return ngettext("%(n)s document de votre DMP", "%(n)s documents de votre DMP", n) % {"n": n}


def noun(object_type: str, n: int, titles: list[str]) -> str:
    """The object of a sentence ("votre dossier du CHU", "2 comptes rendus de votre dossier du CHU")."""
    if object_type in DOCUMENT_TYPES:
        return _documents(n, titles)
    counted = {
        "report": ngettext(
            "%(n)s compte rendu de votre dossier du CHU", "%(n)s comptes rendus de votre dossier du CHU", n
        ),
        "stay": ngettext("%(n)s séjour de votre dossier du CHU", "%(n)s séjours de votre dossier du CHU", n),
        "handover_note": ngettext(
            "%(n)s transmission de votre dossier du CHU", "%(n)s transmissions de votre dossier du CHU", n
        ),
        "feed_item": ngettext(
            "%(n)s envoi de compte rendu vers votre DMP", "%(n)s envois de comptes rendus vers votre DMP", n
        ),
    }
    if object_type in counted:
        return counted[object_type] % {"n": n}
    return _plain_nouns().get(object_type, _("vos dossiers"))


COUNTED_TYPES = {"report", "stay", "handover_note", "feed_item"}


def has_noun(object_type: str) -> bool:
    """Whether an object type has its own words (the test of the vocabulary asks it of every type)."""
    object_type = SAME_OBJECT.get(object_type, object_type)
    return object_type in DOCUMENT_TYPES or object_type in COUNTED_TYPES or object_type in _plain_nouns()


def _plain_nouns() -> dict:
    return {
        "": _("vos dossiers"),
        "account": _("votre compte"),
        "activation_code": _("un code d'activation de votre espace"),
        "audit_chain": _("le journal des accès"),
        "audit_event": _("l'historique des accès à vos dossiers"),
        "dmp": _("votre DMP"),
        "dmp_blocked": _("la liste des professionnels que vous avez bloqués"),
        "dmp_consent_request": _("une demande d'accès à votre DMP"),
        "dmp_designation": _("votre désignation de médecin traitant"),
        "dmp_grant": _("une autorisation d'accès à votre DMP"),
        "dmp_objection": _("une opposition à un document de votre DMP"),
        "identity_incident": _("un incident d'identitovigilance"),
        "dmp_profile": _("votre profil médical"),
        "dmp_settings": _("les paramètres de votre DMP"),
        "feed": _("les envois de comptes rendus vers votre DMP"),
        "hospital_record": _("votre dossier du CHU"),
        "opinion_request": _("une demande d'avis sur votre dossier du CHU"),
        "patient": _("votre dossier"),
        "patient_identity": _("votre identité"),
        "representation": _("un représentant de votre dossier"),
        "record_request": _("votre demande de copie du dossier du CHU"),
        "record_bundle": _("la copie de votre dossier du CHU"),
        "secure_message": _("un message de la messagerie sécurisée de santé"),
    }


def has_words(action: str) -> bool:
    """Whether an action has its own words (the test of the vocabulary asks it of every action)."""
    return bool(_whole(action) or _verb(action)) or action in ("feed",)


def _verb(action: str) -> str:
    """The verb of a sentence, followed by its object ("a consulté" + "votre dossier du CHU")."""
    return {
        "list": _("a consulté"),
        "read": _("a consulté"),
        "search": _("a cherché"),
        "create": _("a ajouté"),
        "update": _("a modifié"),
        "sign": _("a signé"),
        "amend": _("a corrigé"),
        "emergency_access": _("a ouvert en urgence (bris de glace)"),
        "qualify_identity": _("a vérifié"),
        "verify": _("a vérifié"),
        "export": _("a exporté"),
        "review": _("a contrôlé"),
        "download": _("a téléchargé"),
        "delete": _("a supprimé"),
        "mask": _("a masqué aux professionnels"),
        "unmask": _("a rendu de nouveau visible aux professionnels"),
        # Record requests (record_requests/): said in full by `record_request_step` for their own objects.
        "validate": _("a validé"),
        "refuse": _("a refusé"),
        "make_bundle": _("a préparé"),
        "send": _("a envoyé"),
        "expire": _("a supprimé à expiration"),
    }.get(action, "")


def _whole(action: str) -> str:
    """Actions said in a sentence of their own, whatever their object."""
    return {
        "lookup": _("a cherché votre dossier"),
        "qualify_identity": _("a vérifié votre identité (INS)"),
        "retrieve_ins": _("a récupéré votre identifiant national de santé (INS) auprès du téléservice INSi"),
        "validate_identity": _("a vérifié votre pièce d'identité"),
        "login_lockout": _("a vu son compte bloqué après plusieurs essais de connexion"),
        "enrol_second_factor": _("a activé sa double authentification"),
        "reset_second_factor": _("a vu sa double authentification réinitialisée"),
        "transfer": _("a transféré votre séjour vers une autre unité"),
        "request_opinion": _("a demandé l'avis d'une autre unité sur votre dossier du CHU"),
        "answer_opinion": _("a répondu à une demande d'avis sur votre dossier du CHU"),
        "close_opinion": _("a clos une demande d'avis sur votre dossier du CHU"),
        "minor_secret": _("a gardé secret, à votre demande, un séjour vis-à-vis de vos représentants légaux"),
        "minor_secret_lift": _("a levé, à votre demande, le secret d'un séjour vis-à-vis de vos représentants légaux"),
        "make_visible": _("a rendu un document visible pour vous"),
        "release": _("a rendu visible pour vous un compte rendu, après la consultation d'annonce"),
        "hold_reminder": _("a envoyé un rappel à l'auteur d'un document"),
        "update_settings": _("a modifié les paramètres de votre DMP"),
        "block": _("a bloqué un professionnel de votre DMP"),
        "unblock": _("a débloqué un professionnel de votre DMP"),
        "grant": _("a enregistré une autorisation d'accès à votre DMP"),
        "revoke": _("a retiré une autorisation d'accès à votre DMP"),
        "activate_account": _("a activé votre espace patient"),
        "issue_activation_code": _("vous a remis un code d'activation de votre espace"),
        "consent_request": _("a demandé l'accès à votre DMP"),
        "consent_approve": _("a accepté une demande d'accès à votre DMP"),
        "consent_deny": _("a refusé une demande d'accès à votre DMP"),
        "designation_propose": _("a proposé un médecin traitant pour votre DMP"),
        "designation_accept": _("a accepté d'être votre médecin traitant pour le DMP"),
        "designation_decline": _("a décliné la désignation comme médecin traitant"),
        "designation_end": _("a mis fin à une désignation de médecin traitant"),
        "dmp_oppose": _("s'est opposé(e) à votre DMP : il n'est plus alimenté"),
        "dmp_lift_opposition": _("a levé l'opposition à votre DMP et l'a activé"),
        "dmp_close": _("a fermé votre DMP : personne ne le consulte plus"),
        "dmp_reopen": _("a rouvert votre DMP avec tout son contenu"),
        "dmp_deletion_request": _("a demandé la suppression de votre DMP fermé"),
        "dmp_export": _("a téléchargé tout votre DMP (archive)"),
        "dmp_purge": _("a supprimé le contenu de votre DMP fermé (fin de conservation ou suppression demandée)"),
        "feed_dashboard": _("a consulté le suivi des envois de comptes rendus vers votre DMP"),
        "feed_retry": _("a relancé l'envoi d'un compte rendu vers votre DMP"),
        "remove_orphan_files": _("a supprimé des fichiers que plus aucun document n'utilisait"),
        "admin_add": _("a fait un ajout dans l'administration du portail"),
        "admin_change": _("a fait une modification dans l'administration du portail"),
        "admin_delete": _("a fait une suppression dans l'administration du portail"),
        "invite": _("a invité un nouveau compte"),
        "rate_limited": _("a fait trop de demandes en peu de temps (limite atteinte)"),
        "account_recovery": _("a reçu un code pour récupérer votre compte"),
        # Withdrawal and objection (never naming the document: it left every read channel).
        "withdraw": _("a retiré un document de votre DMP"),
        "objection_create": _("s'est opposé(e) à un document de votre DMP"),
        "objection_uphold": _("a accepté votre opposition et retiré le document"),
        "objection_decline": _("a répondu à votre opposition sans retirer le document"),
        "representation_record": _("a enregistré un représentant légal pour votre dossier"),
        "representation_name": _("a désigné un représentant de confiance"),
        "representation_end": _("a mis fin à une représentation de votre dossier"),
        "representation_majority": _("a mis fin à l'accès de vos parents à votre majorité"),
    }.get(action, "")


RECORD_REQUEST_TYPES = {"record_request", "record_bundle"}


def record_request_step(action: str, object_type: str) -> str:
    """The steps of a request for a copy of the hospital record, said as what happened to it (issue 22): "Votre
    demande de copie du dossier du CHU a été reçue / validée / refusée / mise à disposition / téléchargée".
    Empty for any other trace (a read of the request, of the record, a list)."""
    if object_type not in RECORD_REQUEST_TYPES:
        return ""
    return {
        "create": _("Votre demande de copie du dossier du CHU a été reçue"),
        "validate": _("Votre demande de copie du dossier du CHU a été validée"),
        "refuse": _("Votre demande de copie du dossier du CHU a été refusée"),
        "make_bundle": _("La copie de votre dossier du CHU a été préparée"),
        "release": _("Votre demande de copie du dossier du CHU a été mise à disposition"),
        "send": _("La copie de votre dossier du CHU a été envoyée au médecin désigné"),
        "download": _("La copie de votre dossier du CHU a été téléchargée"),
        "expire": _("La copie de votre dossier du CHU a expiré et a été supprimée"),
    }.get(action, "")


def sentence(
    action: str, object_type: str, mode: str, n: int = 1, titles: list[str] | None = None, outcome: str = "allowed"
) -> str:
    """What someone did, said to the patient: every action of the trace vocabulary has its words."""
    titles = titles or []
    object_type = SAME_OBJECT.get(object_type, object_type)
    if outcome != "denied" and (step := record_request_step(action, object_type)):
        return step
    if mode == "feed" and action in ("create", "feed"):
        return _("a déposé %(what)s") % {"what": noun(object_type, n, titles)}
    if action == "list" and object_type in DOCUMENT_TYPES:
        return _("a consulté la liste de vos documents")
    if action == "list" and object_type in ("hospital_record", "report", "stay", "handover_note"):
        return _("a consulté votre dossier du CHU")
    if action == "emergency_access":
        return _("a ouvert un accès d'urgence à %(what)s") % {"what": noun(object_type or "dmp", n, titles)}
    if whole := _whole(action):
        return whole
    if verb := _verb(action):
        return f"{verb} {noun(object_type, n, titles)}"
    return _("a agi sur %(what)s") % {"what": noun(object_type, n, titles)}


def how(mode: str, outcome: str, action: str = "", granted_on: datetime.datetime | None = None) -> str:
    """On what ground: every access mode in words; a refused search is a search, not a refusal."""
    if outcome == "denied":
        return _("sans accès au contenu de votre dossier") if action in SEARCH_ACTIONS else _("accès refusé")
    if mode == "consent":
        if granted_on:
            return _("accès autorisé par vous le %(date)s") % {
                "date": timezone.localtime(granted_on).strftime("%d/%m/%Y")
            }
        return _("accès autorisé par vous")
    return {
        "": "",
        "self": _("vous-même"),
        "in_person_consent": _("autorisation donnée en consultation"),
        "gp": _("en tant que votre médecin traitant"),
        "team_consent": _("équipe de soins que vous avez autorisée"),
        "care_team": _("équipe de soins du CHU"),
        "opinion_request": _("avis demandé par l'équipe qui vous soigne"),
        "emergency": _("accès d'urgence (bris de glace)"),
        "samu": _("régulation du SAMU"),
        "feed": _("envoi automatique du CHU"),
        "author": _("en tant qu'auteur du document"),
        "dpo_review": _("contrôle des accès par le délégué à la protection des données"),
        "admin": _("administration du portail"),
        "representative": _("en tant que votre représentant légal"),
        "trusted_representative": _("en tant que votre représentant de confiance"),
        "record_request": _("pour répondre à une demande de copie du dossier du CHU"),
    }.get(mode, "")


def clock(value: datetime.datetime) -> str:
    """A time as people say it: "15 h 05" in French, "3:05 pm" in English."""
    local = timezone.localtime(value)
    if (get_language() or "fr").startswith("en"):
        return f"{local.hour % 12 or 12}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
    return f"{local.hour} h {local.minute:02d}"


def when(first: datetime.datetime, last: datetime.datetime, times: int) -> str:
    """ "à 15 h 59", "entre 9 h 05 et 15 h 59 (3 fois)"."""
    start, end = clock(first), clock(last)
    if start == end:
        said = _("à %(time)s") % {"time": end}
    else:
        said = _("entre %(start)s et %(end)s") % {"start": start, "end": end}
    if times > 1:
        said += " " + ngettext("(%(n)s fois)", "(%(n)s fois)", times) % {"n": times}
    return said


@dataclass
class HistoryEntry:
    who: str
    sentence: str
    how: str
    first: datetime.datetime
    last: datetime.datetime
    count: int
    highlight: bool
    denied: bool
    reasons: list[str] = field(default_factory=list)
    times: int = 0
    objects: set = field(default_factory=set)

    @property
    def when(self) -> str:
        # "(3 fois)" only when things were read again (two documents filed at once are not "twice").
        return when(self.first, self.last, self.times if self.times > self.count else 1)


@dataclass
class HistoryDay:
    day: datetime.date
    entries: list[HistoryEntry] = field(default_factory=list)


def group(
    events, professions: dict, granted_on: dict, titles: dict | None = None, relations: dict | None = None
) -> list[HistoryDay]:
    """Events newest first -> days newest first, each with one entry per (who, what, how).

    `titles` maps the id of a document the reader may see to its title (the others are counted, not named);
    `relations` maps a representative's id to her relation to the patient ("Marie Durand (mère) a masqué…").
    """
    titles = titles or {}
    relations = relations or {}
    days: dict[datetime.date, dict[tuple, HistoryEntry]] = {}
    for event in events:
        day = timezone.localtime(event.at).date()
        object_type = SAME_OBJECT.get(event.object_type, event.object_type)
        key = (event.actor_id, event.actor_name, event.action, object_type, event.mode, event.outcome)
        entries = days.setdefault(day, {})
        entry = entries.get(key)
        if entry is None:
            profession = professions.get(event.actor_id, "")
            who = event.actor_name or _("Système (CHU)")
            if profession:
                who = f"{who}, {profession.lower()}"
            elif event.actor_id in relations:
                who = f"{who} ({relations[event.actor_id]})"
            step = event.outcome != "denied" and record_request_step(event.action, object_type)
            entry = entries[key] = HistoryEntry(
                # A step of a record request is said as what happened to it, not as someone's access.
                who="" if step else who,
                sentence="",
                how="" if step else how(event.mode, event.outcome, event.action, granted_on.get(event.actor_id)),
                first=event.at,
                last=event.at,
                count=0,
                highlight=event.mode in HIGHLIGHTED_MODES,
                denied=event.outcome == "denied" and event.action not in SEARCH_ACTIONS,
            )
        if event.object_type not in SAME_OBJECT:  # a document's file is not a second reading of it
            entry.times += 1
        ids = [str(i) for i in (event.object_ids or [])] or ([event.object_id] if event.object_id else [])
        entry.objects.update(ids)
        if event.mode in HIGHLIGHTED_MODES and event.reason and event.reason not in entry.reasons:
            entry.reasons.append(event.reason)
        entry.first = min(entry.first, event.at)
        entry.last = max(entry.last, event.at)
    result = []
    for day, entries in days.items():
        merged: dict[tuple, HistoryEntry] = {}
        for (_actor_id, _name, action, object_type, mode, outcome), entry in entries.items():
            entry.count = 1 if action == "list" else max(len(entry.objects), 1)
            named = [titles[i] for i in sorted(entry.objects) if i in titles]
            entry.sentence = sentence(action, object_type, mode, entry.count, named, outcome)
            same = merged.get((entry.who, entry.sentence, entry.how))
            if same is None:
                merged[(entry.who, entry.sentence, entry.how)] = entry
            else:  # the same sentence twice (e.g. a document and its file): one line
                same.first, same.last = min(same.first, entry.first), max(same.last, entry.last)
                same.times = max(same.times, entry.times)
                same.reasons += [r for r in entry.reasons if r not in same.reasons]
        result.append(HistoryDay(day=day, entries=sorted(merged.values(), key=lambda e: e.last, reverse=True)))
    return sorted(result, key=lambda d: d.day, reverse=True)
