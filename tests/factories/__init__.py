"""Factories: functions that build FHIR resources for tests (no fixture files)."""
