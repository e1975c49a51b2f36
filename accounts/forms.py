"""Forms of sign-in: the second factor."""

from django import forms
from django.utils.translation import gettext_lazy as _


class OtpForm(forms.Form):
    code = forms.CharField(
        label=_("Code à 6 chiffres de votre application (ou un code de secours)"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )
