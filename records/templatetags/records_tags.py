"""Template tags of the hospital record's pages: the emergency access form offered on a refusal page."""

from django import forms, template

from records.forms import EmergencyAccessForm

register = template.Library()


@register.simple_tag
def emergency_access_form(form=None):
    """The form the refusal page offers (the one a view passed back with its errors, else a blank one)."""
    return form if isinstance(form, forms.Form) else EmergencyAccessForm()
