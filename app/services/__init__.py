"""Service layer: the logic. Services never commit; the session dependency does."""
