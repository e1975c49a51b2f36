"""Signals the hospital record sends, so that the DMP can react without records importing it."""

from django.dispatch import Signal

# Sent inside the signing transaction (receivers write outbox rows in it): kwargs `report`.
report_signed = Signal()
# Sent inside the qualifying transaction: kwargs `patient`.
identity_qualified = Signal()
# Sent while the record page is read (inside its traced transaction; writes nothing): kwargs `actor`, `reports`
# (the signed reports shown). A receiver returns {report pk: what became of it after signing} (the DMP's feed
# state, dmp/feed/states.py), so that records shows it without importing dmp.
report_feed_states = Signal()
# Sent inside the transaction that keeps a minor's stay secret from her legal representatives, or lifts that secret
# (CSP L.1111-5): kwargs `stay` (its `secret_from_representatives` already changed), `actor`. The DMP flags the
# documents already fed from the stay's reports the same way (dmp/feed/receivers.py).
stay_secret_changed = Signal()
