"""docs/api.md and the OpenAPI schema name the same operations: a documented path the schema lacks fails, and so
does an operation of the schema that docs/api.md does not list (its "Operations" index, checked here)."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
MENTION = re.compile(r"\b(GET|POST|PATCH|PUT|DELETE) (/api/v1/[^\s`?|]*)")
INDEX_ROW = re.compile(r"^\| `(GET|POST|PATCH|PUT|DELETE)` \| `(/api/v1/[^`]*)` \| [^|]* \| ([^|]*) \|$", re.M)


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def schema(api) -> dict:
    return api.get("/api/schema/", {"format": "json"}).json()


def operations(api) -> set[tuple[str, str]]:
    return {(method.upper(), shape(path)) for path, item in schema(api)["paths"].items() for method in item}


def test_every_path_the_docs_mention_is_in_the_schema(api):
    described = operations(api)
    mentioned = {(method, shape(path)) for method, path in MENTION.findall(DOC.read_text())}
    assert mentioned, "no operation found in docs/api.md"
    assert not mentioned - described, f"documented but not in the schema: {sorted(mentioned - described)}"


def test_the_docs_index_lists_every_operation_with_its_statuses(api):
    """Regenerate the index with scripts/api_operations.py."""
    indexed = {(method, path, statuses.strip()) for method, path, statuses in INDEX_ROW.findall(DOC.read_text())}
    described = {
        (method.upper(), path, ", ".join(sorted(operation["responses"])))
        for path, item in schema(api)["paths"].items()
        for method, operation in item.items()
    }
    assert not described - indexed, f"in the schema, not in docs/api.md's index: {sorted(described - indexed)}"
    assert not indexed - described, f"in docs/api.md's index, not in the schema: {sorted(indexed - described)}"
