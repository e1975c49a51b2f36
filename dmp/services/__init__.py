"""The DMP's verbs: each decides through dmp/access.py, acts, and traces in the same transaction.

One module per subject; callers import the module they need (`from dmp.services import documents`).
"""
