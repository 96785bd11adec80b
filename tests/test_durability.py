"""An acknowledged write survives SIGKILL of the server (real process, real database)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import database_url
from tests.factories.resources import patient

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("durability")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, port: int) -> subprocess.Popen[bytes]:
    """Start uvicorn serving the app on url's database."""
    env = {**os.environ, "FELLESPLAN_DATABASE_URL": url, "FELLESPLAN_BASE_URL": f"http://127.0.0.1:{port}/fhir",
           "FELLESPLAN_AUTH_ENABLED": "false", "FELLESPLAN_ENV": "test"}
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True)


async def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as c:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "server exited during start-up"
            try:
                if (await c.get(f"{base}/metadata")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("server did not start")


async def _writer(base: str, acked: dict[str, bytes], stop: float) -> None:
    """Create Patients until stop; remember every acknowledged one."""
    async with httpx.AsyncClient(timeout=10) as c:
        while time.monotonic() < stop:
            try:
                resp = await c.post(f"{base}/Patient", json=patient())
            except httpx.TransportError:
                return
            if resp.status_code == 201:
                acked[resp.json()["id"]] = resp.content


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
async def test_acknowledged_writes_survive_sigkill(backend_name: str) -> None:
    if backend_name == "postgres" and not os.environ.get("FELLESPLAN_TEST_PG_URL"):
        pytest.skip("no PostgreSQL for this run (make test provides one)")
    url = await database_url(backend_name, "_kill")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    proc = _start(url, port)
    acked: dict[str, bytes] = {}
    try:
        await _wait_ready(base, proc)
        stop = time.monotonic() + 3
        writers = [asyncio.create_task(_writer(base, acked, stop)) for _ in range(8)]
        await asyncio.sleep(1.5)
        os.killpg(proc.pid, signal.SIGKILL)  # mid-load, no shutdown
        await asyncio.gather(*writers)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(acked) > 10
    proc = _start(url, port)
    try:
        await _wait_ready(base, proc)
        async with httpx.AsyncClient() as c:
            for pid, body in acked.items():
                resp = await c.get(f"{base}/Patient/{pid}")
                assert resp.status_code == 200 and resp.content == body
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
