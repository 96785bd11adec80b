"""Database engine, tables and the per-request unit of work."""
