"""Public information pages: the two records explained, the accessibility statement, the favicon."""

from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponseRedirect
from django.views.generic import TemplateView


class TwoRecordsView(TemplateView):
    template_name = "pages/two_records.html"


class AccessibilityView(TemplateView):
    template_name = "pages/accessibility.html"


def favicon(request):
    """Browsers ask for /favicon.ico before reading the page's icon link: send them to the static icon."""
    response = HttpResponseRedirect(staticfiles_storage.url("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response
