"""FHIR R4 read layer: the portal's data as FHIR resources, through the same services and traces."""
