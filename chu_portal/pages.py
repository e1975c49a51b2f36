"""Public information pages: the two records explained, and the accessibility statement."""

from django.views.generic import TemplateView


class TwoRecordsView(TemplateView):
    template_name = "pages/two_records.html"


class AccessibilityView(TemplateView):
    template_name = "pages/accessibility.html"
