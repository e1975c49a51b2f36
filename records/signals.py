"""Signals the hospital record sends, so that the DMP can react without records importing it."""

from django.dispatch import Signal

# Sent inside the signing transaction (receivers write outbox rows in it): kwargs `report`.
report_signed = Signal()
# Sent inside the qualifying transaction: kwargs `patient`.
identity_qualified = Signal()
