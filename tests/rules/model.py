"""The DMP and hospital-record access rules as plain Python: the model the stateful test checks every read channel against.

Written from the rules (issue 16, docs/domain.md and the CSP articles named on each rule), never from the code:
nothing here imports an access module or a service. The state is a shadow kept by the state machine
(tests/rules/test_rules_machine.py) from the actions it performed, so a rule of the model can disagree with the
code. Time is not a clock here: each window is a flag the machine turns off when it ages the object past its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- Vocabulary (strings, not the app's enums: the model stands on its own) ---------------------------------------

PATIENT = "patient"
CHU_CLINICIAN = "chu_clinician"
CHU_COLLABORATOR = "chu_collaborator"
EXTERNAL = "external_professional"
DPO = "dpo"
ADMIN = "admin"
CHU_STAFF = frozenset({CHU_CLINICIAN, CHU_COLLABORATOR})
PROFESSIONALS = CHU_STAFF | {EXTERNAL}

# CSP R.1111-46: professionals see what their profession needs, per the access matrix. The professions the matrix
# knows are health professions (CSP, fourth part); a medical secretary is a collaborator without one.
HEALTH_PROFESSIONS = frozenset(
    {"medecin", "sage_femme", "infirmier", "pharmacien", "kinesitherapeute", "chirurgien_dentiste"}
)

# CSP R.1111-46 (last paragraph): the access matrix, as seeded by dmp/migrations/0002 (docs/domain.md); "90" is
# the class of the patient's own uploads. A missing profession reads nothing (the medical secretary).
ALL = HEALTH_PROFESSIONS
MATRIX: dict[str, frozenset[str]] = {
    "11490-0": ALL,
    "34874-8": frozenset({"medecin", "sage_femme", "kinesitherapeute"}),
    "15507-7": frozenset({"medecin", "sage_femme", "infirmier"}),
    "18748-4": frozenset({"medecin", "sage_femme", "kinesitherapeute", "chirurgien_dentiste"}),
    "11502-2": frozenset({"medecin", "sage_femme", "infirmier", "pharmacien", "chirurgien_dentiste"}),
    "11488-4": frozenset({"medecin", "sage_femme"}),
    "90": ALL,
    "11369-6": ALL,
    "57833-6": frozenset({"medecin", "sage_femme", "infirmier", "pharmacien"}),
    "34133-9": frozenset({"medecin", "sage_femme"}),
}

# CSP R.1111-46 applied to the medical profile (issue 16, point 6): which profile kinds each profession reads in
# the matrix modes. The patient and GP-level holders read every kind.
PROFILE_KINDS = frozenset({"allergy", "vaccination", "treatment", "history"})
PROFILE_MATRIX: dict[str, frozenset[str]] = {
    "medecin": PROFILE_KINDS,
    "sage_femme": PROFILE_KINDS,
    "infirmier": frozenset({"allergy", "vaccination", "treatment"}),
    "pharmacien": frozenset({"allergy", "treatment"}),
    "kinesitherapeute": frozenset({"allergy", "history"}),
    "chirurgien_dentiste": frozenset({"allergy", "treatment", "history"}),
}

# Modes of the DMP record decision.
SELF, GP, CONSENT, IN_PERSON, TEAM, EMERGENCY, SAMU = (
    "self",
    "gp",
    "consent",
    "in_person_consent",
    "team_consent",
    "emergency",
    "samu",
)
MATRIX_MODES = frozenset({CONSENT, IN_PERSON, TEAM, EMERGENCY, SAMU})
# Someone acting for the holder (issue 21): a parent or guardian (CSP L.1111-2; C. civ. 371-1), or a trusted
# representative the adult holder named herself (reads only).
REPRESENTATIVE, TRUSTED_REPRESENTATIVE = "representative", "trusted_representative"
REPRESENTATIVE_MODES = frozenset({REPRESENTATIVE, TRUSTED_REPRESENTATIVE})
# Hospital record modes.
CARE_TEAM, OPINION = "care_team", "opinion_request"


# --- Shadow state -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    key: str  # username
    role: str
    profession: str = ""
    units: frozenset[str] = frozenset()
    regulator: bool = False

    @property
    def professional(self) -> bool:
        return self.role in PROFESSIONALS

    @property
    def health_professional(self) -> bool:
        return self.professional and self.profession in HEALTH_PROFESSIONS

    @property
    def chu_staff(self) -> bool:
        return self.role in CHU_STAFF


@dataclass
class Doc:
    id: str
    title: str
    type_code: str
    patient_upload: bool  # class 90
    author: str | None  # username of the professional author (None: the patient, or the CHU without author)
    visible_to_patient: bool = True
    replaces: str | None = None
    current: bool = True
    deleted: bool = False
    chu: bool = False  # filed by the CHU's feed from a signed report (issue 19: what a withdrawal applies to)
    withdrawn: bool = False  # withdrawn (wrong patient, wrong document, upheld objection): out of every channel
    # Issue 19: a CHU report signed "after the announcement consultation" is filed held (invisible to the patient,
    # visible_to_patient False) until released; released, it is visible to her like any document.
    held: bool = False
    released: bool = False
    # CSP L.1111-5 / R.1111-50: filed for a minor at her request, never shown to her legal representatives.
    secret: bool = False


@dataclass
class Grant:
    id: str
    professional: str
    source: str  # consent / in_person_consent
    live: bool = True  # started, not expired, not revoked


@dataclass
class Window:
    professional: str
    mode: str  # emergency / samu (DMP) or emergency (hospital record)
    live: bool = True


@dataclass
class Stay:
    id: str
    units: list[str]  # admitting unit, then every unit it moved through
    open: bool
    recent: bool  # open, or discharged within the hospital record's window
    # CSP L.1111-5 / R.1111-50 (issue 22): kept secret from the minor's legal representatives at her request.
    secret: bool = False


@dataclass
class Opinion:
    id: str
    requester: str
    stay: str
    consulted_doctor: str | None
    consulted_unit: str | None
    finished: bool = False  # answered or closed
    aged: bool = False  # past OPINION_MAX_DAYS (if open) or past the grace period (if finished)


@dataclass
class CopyRequest:
    """A request for a copy of the hospital record (issue 22), as the model understands it."""

    id: str
    requester: str  # username of whoever asked: the patient herself, or her representative
    as_representative: bool
    delivery: str  # DOWNLOAD (in the portal) or DOCTOR (sent to the doctor she names)
    doctor: str | None  # the named doctor's username (DOCTOR only)
    stays: frozenset[str]  # the stays asked for
    made_stays: frozenset[str] = frozenset()  # the stays the copy holds, fixed when it is made
    made: bool = False
    released: bool = False  # made and past the 48-hour reflection period: available, or sent to the doctor
    expired: bool = False  # past its availability (RECORD_BUNDLE_AVAILABLE_DAYS): the file is deleted
    refused: bool = False


@dataclass
class State:
    """What the cast did to one patient's DMP and hospital record, as the model understands it."""

    patient: str  # the patient's username (the DMP's holder)
    people: dict[str, Person]
    status: str = "active"  # active / closed / opposed
    activated: bool = False  # the holder activated her DMP (the code's seam, or lifting an opposition)
    emergency_allowed: bool = True
    samu_allowed: bool = True
    blocked: set[str] = field(default_factory=set)
    gp_level: set[str] = field(default_factory=set)  # accepted designations (médecin traitant and GP-level rights)
    grants: dict[str, Grant] = field(default_factory=dict)
    dmp_windows: list[Window] = field(default_factory=list)
    hr_windows: list[Window] = field(default_factory=list)
    stays: dict[str, Stay] = field(default_factory=dict)
    opinions: dict[str, Opinion] = field(default_factory=dict)
    docs: dict[str, Doc] = field(default_factory=dict)
    masked_lineages: set[str] = field(default_factory=set)  # lineage roots the patient masked
    # Issue 21: who acts for the holder now (username -> "parent" / "guardian" / "trusted"); a representation
    # past its end (a parent's at the holder's majority) is removed by the machine when it ages it.
    representatives: dict[str, str] = field(default_factory=dict)
    minor: bool = False
    # Issue 22: the copies of the hospital record asked for (request id -> CopyRequest).
    copies: dict[str, CopyRequest] = field(default_factory=dict)

    # -- lineage helpers (masks follow the document, issue 16 point 2)
    def root(self, doc_id: str) -> str:
        doc = self.docs[doc_id]
        while doc.replaces is not None and doc.replaces in self.docs:
            doc = self.docs[doc.replaces]
        return doc.id

    def masked(self, doc_id: str) -> bool:
        return self.root(doc_id) in self.masked_lineages

    def lineage(self, doc_id: str) -> list[Doc]:
        """Every version of a document (those sharing its first version)."""
        root = self.root(doc_id)
        return [d for d in self.docs.values() if self.root(d.id) == root]


# --- The DMP record decision --------------------------------------------------------------------------------------


def care_units(state: State) -> set[str]:
    """Units holding the patient's open or recent stay (admitting unit or a unit the stay moved through).

    CSP L.1110-12 (the care team) as the hospital record defines it (docs/domain.md, "Care team")."""
    return {unit for stay in state.stays.values() if stay.recent for unit in stay.units}


def team_consent_applies(state: State, who: Person) -> bool:
    """CSP R.1111-46: consent given to a member of a care team is deemed given to every member of that team."""
    if not (who.chu_staff and who.health_professional):
        return False
    units = care_units(state) & who.units
    if not units:
        return False
    for grant in state.grants.values():
        grantee = state.people.get(grant.professional)
        if grant.live and grantee is not None and grantee.key != who.key and grantee.chu_staff:
            if grantee.units & units:
                return True
    return False


def record_mode(state: State, who: Person) -> tuple[bool, str]:
    """(allowed, mode or refusal code) for `who` opening the patient's DMP. First match wins."""
    if who.role == PATIENT:
        # CSP L.1111-19: the holder reads her DMP; another patient learns nothing (404). CSP R.1111-36: a closed DMP
        # is archived, read by nobody, its holder included, until she reopens it (issue 19, point 4).
        if who.key == state.patient:
            return (False, "dmp_closed") if state.status == "closed" else (True, SELF)
        # CSP L.1111-2, L.1111-7 (issue 21): her legal representative acts for her while the representation is in
        # force (a parent until the majority, C. civ. 414); a trusted representative reads. Not an opposed DMP: the
        # opposition is the holder's own; not a closed one (read by nobody).
        kind = state.representatives.get(who.key)
        if kind is None:
            return False, "not_found"
        if state.status == "opposed":
            return False, "dmp_opposed"
        if state.status == "closed":
            return False, "dmp_closed"
        return True, (TRUSTED_REPRESENTATIVE if kind == "trusted" else REPRESENTATIVE)
    if not who.professional:
        # CSP L.1111-17: only health professionals access the DMP (DPO, admin: no medical content).
        return False, "forbidden"
    if not who.health_professional:
        # CSP R.1111-46 / L.1111-17: a collaborator without a health profession has no DMP access at all.
        return False, "forbidden"
    # CSP R.1111-36 (closure, opposition) and R.1111-38/-42 (the patient manages access: blocking).
    if state.status == "opposed":
        return False, "dmp_opposed"
    if state.status == "closed":
        return False, "dmp_closed"
    if who.key in state.blocked:
        return False, "blocked"
    # CSP L.1111-16: the médecin traitant (and doctors given the same rights) read the whole DMP.
    if who.key in state.gp_level:
        return True, GP
    # CSP R.1111-46: the holder's prior consent, personal grant (in the portal, or given in person).
    own = [g for g in state.grants.values() if g.live and g.professional == who.key]
    if own:
        return True, own[-1].source
    # CSP R.1111-46: consent to one member of the care team covers the team.
    if team_consent_applies(state, who):
        return True, TEAM
    # CSP L.1111-17: emergency access unless the patient opposed it; SAMU regulation, opposable, regulators only.
    for window in state.dmp_windows:
        if window.live and window.professional == who.key:
            if window.mode == EMERGENCY and state.emergency_allowed:
                return True, EMERGENCY
            if window.mode == SAMU and state.samu_allowed and who.regulator:
                return True, SAMU
    # Filing a document opens nothing (CSP R.1111-47: feeding is not reading).
    return False, "forbidden"


def matrix_allows(who: Person, doc: Doc) -> bool:
    """CSP R.1111-46: the access matrix (document type, or "90" for the patient's uploads)."""
    key = "90" if doc.patient_upload else doc.type_code
    return who.profession in MATRIX.get(key, frozenset())


def in_scope(state: State, who: Person, mode: str, doc: Doc) -> bool:
    """Is `doc` (alive or not) among what `mode` shows `who` (status aside)?"""
    if doc.deleted or doc.withdrawn:
        # Issue 19: a withdrawn document leaves every read channel for everybody (kept for the DPO only).
        return False
    if mode == SELF:
        # CSP R.1111-38: the holder sees her DMP but documents filed "not visible to the patient" (DMPi rule).
        return doc.visible_to_patient
    if mode in REPRESENTATIVE_MODES:
        # As the holder, but never what the minor keeps secret from them (CSP L.1111-5, R.1111-50).
        return doc.visible_to_patient and not doc.secret
    if mode == GP:
        # CSP L.1111-16 and R.1111-49: the médecin traitant sees everything, masked documents included.
        return True
    if mode in MATRIX_MODES:
        # CSP R.1111-49: a masked document stays visible to its author only (never in emergency mode);
        # masks follow the document across versions (issue 16, point 2).
        if doc.author == who.key:
            return True
        return not state.masked(doc.id) and matrix_allows(who, doc)
    return False


def may_read_document(state: State, who: Person, doc: Doc) -> bool:
    """Detail, content and FHIR DocumentReference read of one document by id."""
    if doc.deleted or doc.withdrawn:
        return False
    allowed, mode = record_mode(state, who)
    if allowed and in_scope(state, who, mode, doc):
        return True
    # DMPi rules: the author (of a document still in the DMP) reads back what he filed; CSP R.1111-49.
    # Not through a block or a closed/opposed DMP, and not a medical secretary (she files nothing).
    if doc.author == who.key and who.health_professional and state.status == "active" and who.key not in state.blocked:
        return True
    return False


def listed_documents(state: State, who: Person, *, include_superseded: bool) -> set[str] | None:
    """The ids a list (REST, FHIR search, pages) shows `who`; None when the list is refused.

    Authorship alone puts nothing in a list (CSP R.1111-47: feeding is not reading; issue 16 point 7)."""
    allowed, mode = record_mode(state, who)
    if not allowed:
        return None
    return {d.id for d in state.docs.values() if (include_superseded or d.current) and in_scope(state, who, mode, d)}


def may_read_identity(state: State, who: Person) -> bool:
    """FHIR Patient/{id}: any CHU staff member (identity is not medical content, hospital record rule), or
    whoever the DMP record decision lets in (CSP L.1111-17). Never by authorship alone (L.1110-4: the secret is
    shared only as the law allows; issue 16, point 7)."""
    if who.chu_staff:
        return True
    return record_mode(state, who)[0]


def profile_kinds(state: State, who: Person) -> frozenset[str] | None:
    """The profile kinds `who` reads (None: refused). CSP R.1111-46: the matrix applies to the profile too."""
    allowed, mode = record_mode(state, who)
    if not allowed:
        return None
    if mode in (SELF, GP) or mode in REPRESENTATIVE_MODES:
        # CSP L.1111-19 (holder, and whoever acts for her) and L.1111-16 (médecin traitant: all the information).
        return PROFILE_KINDS
    return PROFILE_MATRIX.get(who.profession, frozenset())


def may_read_history(state: State, who: Person) -> bool:
    """The DMP's access history: CSP L.1111-19 (the holder) and R.1111-43 (the médecin traitant).

    The holder reads the traces about her whatever the DMP's status, closed included: the traces are kept when the
    DMP is archived, and who accessed her data is hers to know (issue 19: docs/decisions.md)."""
    if who.role == PATIENT and who.key == state.patient:
        return True
    allowed, mode = record_mode(state, who)
    return allowed and (mode == GP or mode in REPRESENTATIVE_MODES)


def history_may_name(state: State, who: Person, doc: Doc) -> bool:
    """May a line of the access history read by `who` be about `doc` at all? Not for a representative when the
    document is the minor's secret (CSP L.1111-5: every trace about it stays from her)."""
    allowed, mode = record_mode(state, who)
    return not (allowed and mode in REPRESENTATIVE_MODES and doc.secret)


def may_read_consents(state: State, who: Person) -> bool:
    """FHIR Consent (grants and oppositions): the holder (CSP R.1111-38/-42: she manages access), or her legal
    representative acting for her (issue 21; a trusted representative only reads the DMP)."""
    if who.role != PATIENT:
        return False
    return who.key == state.patient or record_mode(state, who) == (True, REPRESENTATIVE)


def hospital_record_mode(state: State, who: Person) -> str | None:
    """The hospital record (records/): care team, then opinion request, then emergency; None when refused.

    CSP L.1110-4: sharing inside the care team is presumed consented; outside it needs a reason the law admits
    (an opinion asked by the team, an emergency). The patient uses CSP L.1111-7 (a formal request), not the portal."""
    if not who.chu_staff:
        return None
    # CSP L.1110-4 / L.1110-12: the care team (units of an open or recent stay).
    if who.units & care_units(state):
        return CARE_TEAM
    # CSP L.1110-4 II: an opinion asked by the care team, read only, open and younger than OPINION_MAX_DAYS or
    # finished within the grace period.
    for opinion in state.opinions.values():
        if opinion.aged:
            continue
        if opinion.consulted_doctor == who.key:
            return OPINION
        if opinion.consulted_doctor is None and opinion.consulted_unit in who.units and who.role == CHU_CLINICIAN:
            return OPINION
    # Break the glass on the hospital record (a motivated, temporary window).
    if any(w.live and w.professional == who.key for w in state.hr_windows):
        return EMERGENCY
    return None


def may_write_in_record(state: State, who: Person) -> bool:
    """Transfer, handover note, opinion request: the care team only (issue 16 point 5: emergency is read only,
    CSP L.1111-17 gives emergency access to read what the emergency needs, not to create lasting access)."""
    return hospital_record_mode(state, who) == CARE_TEAM


def gp_dashboard_ids(state: State, who: Person) -> set[str]:
    """The GP dashboard: new current documents of the patients whose GP-level rights `who` holds (L.1111-16)."""
    allowed, mode = record_mode(state, who)
    if not (allowed and mode == GP):
        return set()
    return {d.id for d in state.docs.values() if d.current and not d.deleted and not d.withdrawn}


ACTIVITY_KINDS = frozenset({"new_document", "new_access", "emergency_access", "withdrawal"})


def may_be_notified(state: State, who: Person, kind: str = "new_document") -> bool:
    """Nobody blocked, and nobody on a closed DMP, is notified (issue 16 point 8; CSP R.1111-36: a closed DMP is
    archived, nothing happens in it). A block silences everything; closing silences the DMP's activity."""
    if kind in ACTIVITY_KINDS and state.status == "closed":
        return False
    if who.role == PATIENT:
        return who.key == state.patient or who.key in state.representatives
    return who.key not in state.blocked


def may_see_title(state: State, who: Person, doc: Doc) -> bool:
    """A notification names a document only to someone who may read it (CSP L.1110-4: a title is already medical
    information; issue 16 point 8)."""
    return may_read_document(state, who, doc)


def expected_new_document_recipients(state: State, doc: Doc) -> set[str]:
    """Who is told of a new document: the holder if she sees it, GP-level holders (CSP L.1111-16), but the author.
    A held report is not hers to see yet: she is told only when it is released (`expected_release_recipients`)."""
    out = set()
    if doc.visible_to_patient and not doc.deleted:
        out.add(state.patient)
        # Issue 21: whoever acts for her is told too, never of the minor's secret (CSP L.1111-5).
        if not doc.secret and state.status != "opposed":
            out |= set(state.representatives)
    for key in state.gp_level:
        if key != doc.author and may_be_notified(state, state.people[key]):
            out.add(key)
    return out


def expected_release_recipients(state: State, doc: Doc) -> set[str]:
    """Issue 19 point 1: a held report released after the announcement: the holder is told then, once."""
    return {state.patient} if doc.visible_to_patient and not doc.deleted else set()


def expected_emergency_recipients(state: State) -> set[str]:
    """CSP R.1111-48: after an emergency (or SAMU) access, the holder and the médecin traitant are informed."""
    out = {state.patient}
    out |= {k for k in state.gp_level if may_be_notified(state, state.people[k])}
    return out


# --- Writes the model decides (a write the model refuses must be refused by the services) -------------------------


def may_ask_consent(state: State, who: Person) -> bool:
    """CSP R.1111-46 / L.1110-4 III: a health professional asks the holder's consent (not when blocked/closed)."""
    return who.health_professional and state.status == "active" and who.key not in state.blocked


def may_break_glass_dmp(state: State, who: Person, mode: str) -> bool:
    """CSP L.1111-17: emergency access by a health professional unless opposed; SAMU by a regulator."""
    if not (who.health_professional and state.status == "active" and who.key not in state.blocked):
        return False
    if mode == SAMU:
        return who.regulator and state.samu_allowed
    return state.emergency_allowed


def may_file(state: State, who: Person) -> bool:
    """CSP R.1111-47 / L.1111-15: health professionals feed an active DMP without reading it (block or not)."""
    if who.role == PATIENT:
        # The holder, or her legal representative acting for her (issue 21); a trusted representative only reads.
        acting = who.key == state.patient or record_mode(state, who) == (True, REPRESENTATIVE)
        return acting and state.status == "active"
    return who.health_professional and state.status == "active"


def may_mask(state: State, who: Person, doc: Doc) -> bool:
    """CSP R.1111-38/-42: the holder masks what she sees; her legal representative too (issue 21), on what he sees."""
    allowed, mode = record_mode(state, who)
    return allowed and mode in (SELF, REPRESENTATIVE) and in_scope(state, who, mode, doc)


def may_file_secret(state: State, who: Person) -> bool:
    """CSP L.1111-5: a health professional filing for a minor may keep the document from her legal representatives."""
    return may_file(state, who) and who.health_professional and state.minor


def may_take_gp_rights(state: State, who: Person, *, in_person: bool) -> bool:
    """CSP L.1111-16: GP-level rights go to a médecin only, on an active DMP that did not block him; recorded in
    person, never from an emergency access (issue 16 point 5: emergency mode only reads)."""
    if not (who.professional and who.profession == "medecin"):
        return False
    if state.status != "active" or who.key in state.blocked:
        return False
    if in_person:
        allowed, mode = record_mode(state, who)
        if allowed and mode in (EMERGENCY, SAMU):
            return False
    return True


def may_block(state: State, who_blocked: Person) -> bool:
    """CSP L.1111-16: a holder of GP-level rights cannot be blocked while they last (remove them first)."""
    return who_blocked.key not in state.gp_level


def may_release(state: State, who: Person, doc: Doc) -> bool:
    """A CHU report held until the announcement consultation (DMPi rule "non visible par le patient"; CSP L.1111-2,
    to check: the patient is informed by a professional, in an individual interview) is released by its author, a
    doctor of her care team in the CHU (CSP L.1110-12, the units of her open or recent stays) or a doctor with
    GP-level rights, who may announce it in his practice (CSP L.1111-16); not by a professional who reads the DMP
    by consent or in an emergency only (issue 19 point 1). Not through a block, nor on a closed or opposed DMP."""
    if not doc.held or doc.deleted or not who.health_professional:
        return False
    if state.status != "active" or who.key in state.blocked:
        return False
    if doc.author == who.key or who.key in state.gp_level:
        return True
    return who.chu_staff and who.profession == "medecin" and bool(who.units & care_units(state))


def may_make_visible(state: State, who: Person, doc: Doc) -> bool:
    """DMPi rule (no CSP article): a professional who reads the document releases it; not from emergency mode,
    which only reads (CSP L.1111-17; issue 16 point 5). A held CHU report follows `may_release` (issue 19)."""
    if doc.held or doc.released:
        return may_release(state, who, doc)
    if who.role == PATIENT or doc.visible_to_patient:
        return False
    allowed, mode = record_mode(state, who)
    if allowed and mode in (EMERGENCY, SAMU):
        return False
    return may_read_document(state, who, doc)


# --- The DMP's life (issue 19, point 4) ---------------------------------------------------------------------------


def may_oppose(state: State) -> bool:
    """CSP L.1111-14 / R.1111-36: the holder opposes a DMP she has not activated and that holds no document;
    afterwards she closes it instead."""
    return state.status == "active" and not state.activated and not any(not d.deleted for d in state.docs.values())


def may_set_status(state: State, status: str) -> bool:
    """The holder's status changes: oppose (above), close an active DMP, reopen a closed one, lift an opposition.
    A closed DMP is not opposed, an opposed one is not closed."""
    if status == state.status:
        return True
    if status == "opposed":
        return may_oppose(state)
    if status == "closed":
        return state.status == "active"
    return True  # active: reopen, or lift the opposition


def set_status(state: State, status: str) -> None:
    """Apply an allowed change. CSP R.1111-36: closing archives the DMP; the portal's choice (docs/decisions.md):
    closing also ends the authorisations and open emergency windows, which reopening does not bring back; the
    documents, masks, blocks, GP-level rights and settings come back whole."""
    if status == state.status:
        return
    if status == "closed":
        for grant in state.grants.values():
            grant.live = False
        for window in state.dmp_windows:
            window.live = False
    if status == "active":
        state.activated = True
    state.status = status


# --- Withdrawal and the patient's objection (issue 19, point 2) ----------------------------------------------------


def may_withdraw(state: State, who: Person, doc: Doc) -> bool:
    """A fed CHU document filed by mistake is withdrawn by its author or by a doctor of the patient's care team
    (CSP L.1110-12: the team that wrote it answers for it; withdrawing reads nothing, so no DMP access is needed).
    The DMP's status, blocks and emergency modes do not matter: withdrawal corrects, it opens nothing."""
    if doc.deleted or doc.withdrawn or not doc.chu:
        return False
    if doc.author == who.key and who.health_professional:
        return True
    return who.role == CHU_CLINICIAN and who.profession == "medecin" and bool(who.units & care_units(state))


def expected_withdrawal_recipients(state: State, versions: list[Doc], actor: str) -> set[str]:
    """Who is told "a document was withdrawn" (never which): the holder if she saw a version of it, and the
    GP-level holders (CSP L.1111-16: they read every document) but the one who withdrew it."""
    out = set()
    patient = state.people[state.patient]
    if any(v.visible_to_patient and not v.deleted for v in versions) and may_be_notified(state, patient, "withdrawal"):
        out.add(state.patient)
    for key in state.gp_level:
        if key != actor and may_be_notified(state, state.people[key], "withdrawal"):
            out.add(key)
    return out


def may_object(state: State, who: Person, doc: Doc, open_objections: set[str]) -> bool:
    """CSP R.1111-47: the holder objects, for a legitimate reason, to a CHU document she sees (one open at a time)."""
    return who.key == state.patient and doc.chu and may_read_document(state, who, doc) and doc.id not in open_objections


def may_answer_objection(state: State, who: Person, doc: Doc, unit: str) -> bool:
    """The objection goes to the unit that wrote the document: its doctors (or the author) answer it."""
    if not (who.professional and who.profession == "medecin"):
        return False
    return doc.author == who.key or unit in who.units


# --- A copy of the hospital record (issue 22) -------------------------------------------------------------------

DOWNLOAD, DOCTOR = "download", "doctor"
# CSP L.1111-7, R.1111-1: the holder of parental authority and the guardian ask for the record; a trusted
# representative (named by the adult patient to read her DMP) has no right to it.
ENTITLED_REPRESENTATIONS = frozenset({"parent", "guardian"})


def may_request_copy(state: State, who: Person) -> bool:
    """CSP L.1111-7 and R.1111-1: the adult patient herself, or the holder of parental authority or the guardian
    while the representation is in force (a minor's record is asked for by her legal representatives); never a
    trusted representative, never a professional online (heirs' requests come on paper, L.1110-4 V)."""
    if who.role != PATIENT:
        return False
    if who.key == state.patient:
        return not state.minor
    return state.representatives.get(who.key) in ENTITLED_REPRESENTATIONS


def requestable_stays(state: State, who: Person) -> set[str]:
    """The stays offered to the requester: all the patient's; to her legal representatives, never one the minor
    keeps secret from them (CSP L.1111-5, R.1111-50)."""
    if who.key == state.patient:
        return set(state.stays)
    return {key for key, stay in state.stays.items() if not stay.secret}


def copy_stays(state: State, copy: CopyRequest) -> frozenset[str]:
    """What the copy holds when it is made: the stays asked for, without any the minor keeps secret when the copy
    is for her representative (CSP L.1111-5, R.1111-50)."""
    if copy.as_representative:
        return frozenset(key for key in copy.stays if key in state.stays and not state.stays[key].secret)
    return frozenset(key for key in copy.stays if key in state.stays)


def may_read_copy(state: State, who: Person, copy: CopyRequest) -> bool:
    """Who reads a copy, over every channel (the page download, the API, the secure inbox): its one reader, once
    released (made, and past the 48-hour reflection period, CSP L.1111-7), before it expires. Nobody else: not
    the records office that prepared it, not the doctor who validated it, not the patient's other doctors, her GP
    or the DPO (CSP L.1110-4: the copy is hers, and the secret binds them).

    - Sent to a doctor (CSP L.1111-7 "par l'intermédiaire d'un médecin qu'elle désigne"; R.1111-1: his quality of
      doctor checked): that doctor only, not the requester.
    - Downloaded: its requester; the adult patient herself, or her parent or guardian while the representation is
      in force (R.1111-1), never once it ended (the minor's majority).
    - A copy made for a representative that holds a stay the minor has since kept secret is read by nobody
      (CSP L.1111-5)."""
    if not copy.released or copy.expired or copy.refused:
        return False
    if copy.as_representative and any(state.stays[key].secret for key in copy.made_stays if key in state.stays):
        # Made before the stay became secret: read by nobody since (CSP L.1111-5).
        return False
    if copy.delivery == DOCTOR:
        return who.key == copy.doctor and who.professional and who.profession == "medecin"
    if who.key != copy.requester or who.role != PATIENT:
        return False
    if not copy.as_representative:
        return True
    return state.representatives.get(who.key) in ENTITLED_REPRESENTATIONS


def inbox_holds(state: State, who: Person, copy: CopyRequest) -> bool:
    """The secure inbox (the MSSanté seam): a copy sent to a doctor is a message in his inbox only (CSP R.1111-1)."""
    return copy.delivery == DOCTOR and copy.released and who.key == copy.doctor and who.profession == "medecin"
