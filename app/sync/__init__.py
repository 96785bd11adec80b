"""Push and pull sync with other FHIR R4 servers (docs/sync.md)."""
