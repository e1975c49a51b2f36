"""The verbs of record requests: asking (requests.py), the office's side (office.py), the answer (delivery.py), the messages (notify.py)."""
