"""A real FHIR client (fhirpy) against a live server: the GP pulls Camille's documents; an outsider gets nothing."""

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError

from accounts.models import ApiToken

from ..dmp.conftest import grant

# A live server needs committed data. No serialized_rollback: as the first transactional test of a
# run it would restore rows the database still holds (duplicate content types); the access matrix
# a flush empties is put back by the autouse fixture in tests/conftest.py.
pytestmark = pytest.mark.django_db(transaction=True)


def fhir_as(live_server, user) -> SyncFHIRClient:
    _token, raw = ApiToken.issue(user)
    return SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Token {raw}")


def test_the_gp_reads_camilles_documents_with_fhirpy(live_server, camille, dr_moreau, fed_letter, operative_report):
    client = fhir_as(live_server, dr_moreau)
    documents = client.resources("DocumentReference").search(patient=str(camille.public_id)).fetch_all()
    assert {d.id for d in documents} == {str(fed_letter.public_id), str(operative_report.public_id)}
    assert all(d["status"] == "current" and d["type"]["coding"][0]["system"] == "http://loinc.org" for d in documents)
    patient = client.reference("Patient", str(camille.public_id)).to_resource()
    assert patient["generalPractitioner"][0]["identifier"]["value"] == "8" + dr_moreau.rpps
    document = client.reference("DocumentReference", str(fed_letter.public_id)).to_resource()
    assert document["masterIdentifier"]["value"] == f"urn:uuid:{fed_letter.public_id}"


def test_dr_garnier_gets_nothing_before_consent_and_the_documents_after(
    live_server, camille, camille_dmp, dr_garnier, fed_letter
):
    client = fhir_as(live_server, dr_garnier)
    with pytest.raises(ForbiddenError) as refused:
        client.resources("DocumentReference").search(patient=str(camille.public_id)).fetch_all()
    assert "forbidden" in str(refused.value)
    grant(camille_dmp, dr_garnier)
    documents = client.resources("DocumentReference").search(patient=str(camille.public_id)).fetch_all()
    assert [d.id for d in documents] == [str(fed_letter.public_id)]
