"""FHIR R4 read layer: the portal's data as FHIR resources, through the same services and traces.

The package shares its name with the `fhir` namespace of the fhir.resources library (used by the
tests to validate every response): extending __path__ keeps `import fhir.resources` working.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
