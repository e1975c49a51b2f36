"""The DMP list costs the same number of queries whatever its length."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dmp.services import documents

from .conftest import grant

pytestmark = pytest.mark.django_db


def queries_for_list(actor, record):
    actor = type(actor).objects.get(pk=actor.pk)  # a fresh user each time: nothing cached
    with CaptureQueriesContext(connection) as ctx:
        documents.documents_list(actor=actor, record=record, page_size=500)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["patient", "gp", "authorised"])
def test_the_dmp_list_runs_the_same_queries_for_10_and_500_documents(
    camille, camille_dmp, dr_moreau, dr_garnier, dr_bernard, make_document, who
):
    actor = {"patient": camille.account, "gp": dr_moreau, "authorised": dr_garnier}[who]
    if who == "authorised":
        grant(camille_dmp, dr_garnier)
    make_document(camille_dmp, 10, author=dr_bernard)
    queries_for_list(actor, camille_dmp)  # the first read by a professional also tells the patient, once
    small = queries_for_list(actor, camille_dmp)
    make_document(camille_dmp, 490, author=dr_bernard)
    large = queries_for_list(actor, camille_dmp)
    assert small == large
