"""Engine configuration details."""

from __future__ import annotations

from app.db.engine import _pg_connect_args


def test_loopback_postgres_skips_tls_attempt() -> None:
    assert _pg_connect_args("postgresql+asyncpg://u@127.0.0.1:5432/db") == {"ssl": False}
    assert _pg_connect_args("postgresql+asyncpg://u@localhost/db") == {"ssl": False}


def test_remote_or_explicit_tls_is_left_alone() -> None:
    assert _pg_connect_args("postgresql+asyncpg://u@db.example.no/db") == {}
    assert _pg_connect_args("postgresql+asyncpg://u@127.0.0.1/db?ssl=require") == {}
