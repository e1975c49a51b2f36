"""Pages of the feed dashboard (administrators): counts, waiting items, failures and the retry action."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chu_portal.refusals import errors_as_message

from ..constants import DocumentType, FeedReason, FeedStatus
from ..feed import dashboard as feed_dashboard


@login_required
def dashboard(request):
    board = feed_dashboard.feed_dashboard(actor=request.user)
    type_labels = dict(DocumentType.choices)
    status_labels = dict(FeedStatus.choices)
    by_type: dict[str, dict] = {}
    for row in board.by_type:
        entry = by_type.setdefault(
            row["type_code"], {"label": type_labels.get(row["type_code"], row["type_code"]), "counts": {}}
        )
        entry["counts"][row["status"]] = row["n"]
    return render(
        request,
        "dmp/feed_dashboard.html",
        {
            "board": board,
            "statuses": [(value, status_labels[value], board.by_status[value]) for value in FeedStatus.values],
            "status_values": FeedStatus.values,
            "by_type": [
                {
                    "code": code,
                    "label": e["label"],
                    "counts": [e["counts"].get(s, 0) for s in FeedStatus.values],
                    # (status label, count): each cell keeps its label on a phone
                    "cells": [(status_labels[s], e["counts"].get(s, 0)) for s in FeedStatus.values],
                }
                for code, e in sorted(by_type.items())
            ],
            "type_labels": type_labels,
            "reason_labels": dict(FeedReason.choices),
            "status_labels": status_labels,
        },
    )


@login_required
@require_POST
def retry(request, item_id):
    with errors_as_message(request):
        feed_dashboard.feed_item_retry(actor=request.user, item_id=item_id)
        messages.success(request, _("L'envoi a été relancé."))
    return redirect("dmp:feed_dashboard")
