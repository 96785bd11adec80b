"""`fellesplan sync push|pull` and `fellesplan worker` wiring (exit codes, options, output)."""

from __future__ import annotations

import asyncio

import pytest
import respx
from click.testing import CliRunner

from app.cli import main
from app.config import get_settings
from app.db.engine import Database
from tests.conftest import database_url, make_settings
from tests.sync.factories import load, plan_set
from tests.sync.hapi import BASE, FakeHapi


def _prepared_db() -> str:
    async def go() -> str:
        url = await database_url("sqlite", "_cli")
        db = Database(make_settings(url), url)
        await load(db, plan_set())
        await db.dispose()
        return url

    return asyncio.run(go())


def test_push_then_pull_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    url = _prepared_db()
    monkeypatch.setenv("FELLESPLAN_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        with respx.mock:
            hapi = FakeHapi(token="abc")
            hapi.install(respx.mock)
            runner = CliRunner()
            denied = runner.invoke(main, ["sync", "push", "--target", BASE])
            assert denied.exit_code == 1 and "HAPI-0333" in denied.stderr
            pushed = runner.invoke(main, ["sync", "push", "--target", BASE, "--token", "abc"])
            assert pushed.exit_code == 0, pushed.output + pushed.stderr
            assert "push: 1 transaction(s)" in pushed.output
            monkeypatch.setenv("FELLESPLAN_SYNC_TOKEN", "abc")
            pulled = runner.invoke(main, ["sync", "pull", "--source", BASE])
            assert pulled.exit_code == 0, pulled.output + pulled.stderr
            assert "0 conflict(s)" in pulled.output
            half = runner.invoke(main, ["sync", "pull", "--source", BASE, "--client-id", "x"])
            assert half.exit_code == 2 and "client credentials" in half.stderr
    finally:
        get_settings.cache_clear()
