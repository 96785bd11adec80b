"""Consent-enforced sharing: the default policy (data), Consent evaluation, scopes, redaction."""
