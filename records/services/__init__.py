"""The hospital record's verbs: each decides through records/access.py, acts, and traces in the same transaction.

One module per subject; callers import the module they need (`from records.services import reports`).
"""
