"""Authentication, actors, scopes, consent hooks and the audit log."""
