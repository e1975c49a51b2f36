"""A bare JSON view, the baseline of the throughput benchmark (bench/); routed only when BENCH_BARE_VIEW is on."""

from django.http import JsonResponse


def bare(request):
    """The cheapest Django answer through the whole middleware stack: no session, no query."""
    return JsonResponse({"ok": True})
