"""Fellesplan: a FHIR R4 server for shared crisis plans and individual plans."""

__version__ = "0.1.0"
