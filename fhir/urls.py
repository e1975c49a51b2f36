"""FHIR R4 routes (read only)."""

urlpatterns: list = []
