"""FHIR $operations: one module each, registered in registry.py."""
