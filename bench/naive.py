"""The naive reference of issue 23: a Django view that reads 25 rows and inserts one trace, no authentication.

It is what the audited DMP list is compared with (the issue: 0.21 of the bare view on its machine): the
rows read with `values()` (the first 25 DMP documents, a typical patient's), one trace written through
`audit.services.record` in the same transaction, the rows answered as JSON. It decides nothing and is
routed only by this module's own URLconf (`ROOT_URLCONF = "bench.naive"`: the portal's URLs plus
PATH), which bench/profile_list.py uses in-process; the portal's URLconf never routes it.
"""

from __future__ import annotations

from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path

from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from dmp.models import SharedDocument

PATH = "/bench/naive/"
FIELDS = ("public_id", "title", "type_code", "event_date", "created_at", "mime_type", "size")


def naive(request):
    """25 rows and one trace in one transaction: no session, no decision, no serializer."""
    with transaction.atomic():
        rows = list(SharedDocument.objects.order_by("id").values(*FIELDS)[:25])
        audit.record(
            actor=None,
            action=Action.LIST,
            mode=Mode.NONE,
            object_type=ObjectType.DMP_DOCUMENT,
            object_ids=[row["public_id"] for row in rows],
        )
    return JsonResponse({"count": len(rows), "results": rows})


urlpatterns = [
    path(PATH.strip("/") + "/", naive, name="bench-naive"),
    path("", include("chu_portal.urls")),
]
