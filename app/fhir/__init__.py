"""FHIR wire-level helpers: models, errors, JSON, bundles."""
