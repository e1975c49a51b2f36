"""List reads go through audit.services.list_traced; trace vocabularies are constants, not string literals."""

import re
from pathlib import Path

import pytest
from django.db import connection

from audit import services
from audit.constants import Action, Mode, ObjectType
from audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "records", "dmp", "fhir", "demo", "chu_portal")


def sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path, path.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_list_is_read_and_traced_in_one_transaction(dr_bernard):
    seen = {}

    def load():
        seen["atomic"] = connection.in_atomic_block
        return ["a", "b"], 7

    result = services.list_traced(
        actor=dr_bernard,
        mode=Mode.CARE_TEAM,
        object_type=ObjectType.PATIENT,
        load=load,
        shown=lambda result: result[0],
    )
    assert result == (["a", "b"], 7) and seen["atomic"]
    trace = AuditEvent.objects.get()
    assert trace.action == Action.LIST and trace.object_ids == ["a", "b"] and trace.object_type == "patient"


@pytest.mark.django_db(transaction=True)
def test_a_list_whose_trace_cannot_be_written_is_not_returned(dr_bernard, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("trace table unavailable")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        services.list_traced(
            actor=dr_bernard, mode=Mode.NONE, object_type=ObjectType.PATIENT, load=lambda: [1], shown=lambda r: r
        )


def test_no_service_opens_a_list_trace_by_hand():
    offenders = []
    for path, text in sources():
        for block in re.findall(r"with transaction\.atomic\(\):\n((?:\s{8,}.*\n)+)", text):
            if re.search(r"action=Action\.(LIST|SEARCH)", block) and "record(" in block:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"use audit.services.list_traced: {offenders}"


def test_object_types_and_actions_are_named_by_constants():
    literal = re.compile(r"""\b(object_type|action)=["'][a-z_]+["']""")
    offenders = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path, text in sources()
        for m in literal.finditer(text)
        if m.group(0) != 'action="store_true"'  # argparse, not a trace
    ]
    assert not offenders, offenders
    written = {m for _path, text in sources() for m in re.findall(r"ObjectType\.([A-Z_]+)", text)}
    assert written <= set(ObjectType.__members__)
