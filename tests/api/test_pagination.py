"""One page-number parser (chu_portal.api.page_params) for the API, /fhir/ and the pages."""

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from chu_portal.api import page_params
from chu_portal.errors import InvalidInput


def drf(query: str) -> Request:
    return Request(RequestFactory().get("/x/?" + query))


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", (1, 50)), ("page=3&page_size=20", (3, 20)), ("page_size=999", (1, 200)), ("page=&page_size=", (1, 50))],
)
def test_the_api_reads_whole_numbers_and_caps_the_size(query, expected):
    assert page_params(drf(query)) == expected


@pytest.mark.parametrize(
    "query", ["page=0", "page=-1", "page=abc", "page_size=0", "page_size=x", "page=14637569882408313895780352"]
)
def test_the_api_refuses_what_its_schema_refuses(query):
    with pytest.raises(InvalidInput) as caught:
        page_params(drf(query))
    assert caught.value.code == "invalid" and caught.value.status == 400


def test_fhir_reads_count_with_the_same_rules():
    assert page_params(drf("page=2&_count=7"), 50, 200, size_param="_count") == (2, 7)
    with pytest.raises(InvalidInput):
        page_params(drf("_count=0"), size_param="_count")


def test_pages_fall_back_to_the_first_page():
    request = RequestFactory().get("/x/?page=abc")
    assert page_params(request, strict=False) == (1, 50)
    assert page_params(RequestFactory().get("/x/?page=4"), strict=False) == (4, 50)


def test_every_caller_uses_the_one_parser():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for module in ("dmp/views/common.py", "audit/views.py", "fhir/views.py", "records/api.py", "dmp/api.py"):
        text = (root / module).read_text()
        assert "page_params" in text, module
        assert 'int(request.GET.get("page"' not in text and 'int(request.query_params.get("page"' not in text, module
