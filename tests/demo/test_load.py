"""`fellesplan demo`: loads through the write path, idempotently, and prints usable requests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app.config import Settings
from app.db.engine import Database
from app.db.migrate import upgrade
from app.demo.cli import usage
from app.demo.generator import DemoSet
from app.demo.load import load_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path}/demo.db"
    upgrade(url)
    return Settings(database_url=url, dev_key_file=str(tmp_path / "key.pem"))


async def _counts(settings: Settings) -> tuple[int, int]:
    db = Database(settings)
    try:
        async with db.session(write=False) as s:
            current = (await s.execute(text("SELECT count(*) FROM resources"))).scalar_one()
            versions = (await s.execute(text("SELECT count(*) FROM resource_versions"))).scalar_one()
    finally:
        await db.dispose()
    return int(current), int(versions)


async def test_load_is_idempotent(settings: Settings) -> None:
    data = DemoSet(3)
    first = await load_demo(settings, data)
    expected = len(data.directory()) + sum(len(p.resources) for p in data.iter_patients())
    extra = sum(len(r) for p in data.iter_patients() for r in p.revisions)
    assert first.written == expected + extra and first.skipped == 0
    assert await _counts(settings) == (expected, expected + extra)
    again = await load_demo(settings, data)
    assert again.written == 0 and again.skipped == expected + extra
    assert await _counts(settings) == (expected, expected + extra)


def test_usage_names_loaded_ids_and_tokens(settings: Settings) -> None:
    data = DemoSet(2)
    text_out = usage(settings, data)
    first = data.patient(0)
    assert first.patient_id in text_out and first.fnr in text_out
    assert "If-Match" in text_out
    assert text_out.count("eyJ") >= 3  # development JWTs for staff and the patient


def test_cli_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    env = {**os.environ, "FELLESPLAN_DATABASE_URL": url, "FELLESPLAN_DEV_KEY_FILE": str(tmp_path / "k.pem")}
    run = [sys.executable, "-m", "app.cli"]
    subprocess.run([*run, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*run, "demo", "--patients", "2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Demo data:" in out.stdout and "FHIR base:" in out.stdout
