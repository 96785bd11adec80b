"""A server killed with SIGKILL in the middle of delivering, then restarted, loses no event.

Real processes: `uvicorn app.main:create_app` with the in-process worker, and a real receiver
on loopback in the test process (so FELLESPLAN_SUBSCRIPTION_ALLOW_PRIVATE=true here).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import database_url
from tests.factories.resources import careplan, patient
from tests.subscriptions.factories import subscription
from tests.test_durability import ROOT, _free_port, _wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("durability")]
PLANS = 25


class Receiver:
    """A real HTTP endpoint that records event numbers and can hold a request open."""

    def __init__(self) -> None:
        self.events: list[int] = []
        self.hold = asyncio.Event()
        self.held = asyncio.Event()
        self.hold.set()

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        number = int(headers.get(b"x-fellesplan-event-number", b"0"))
        if number == 10 and not self.held.is_set():
            self.held.set()
            await self.hold.wait()  # the server is killed while this delivery is in flight
        self.events.append(number)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _start(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FELLESPLAN_DATABASE_URL": url, "FELLESPLAN_BASE_URL": f"http://127.0.0.1:{port}/fhir",
           "FELLESPLAN_AUTH_ENABLED": "false", "FELLESPLAN_ENV": "test",
           "FELLESPLAN_SUBSCRIPTION_ALLOW_PRIVATE": "true", "FELLESPLAN_SUBSCRIPTION_POLL_SECONDS": "0.05",
           "FELLESPLAN_SUBSCRIPTION_TIMEOUT_SECONDS": "1", "FELLESPLAN_SUBSCRIPTION_LEASE_SECONDS": "2",
           "FELLESPLAN_SUBSCRIPTION_BACKOFF_INITIAL_SECONDS": "0.1",
           "FELLESPLAN_SUBSCRIPTION_BACKOFF_MAX_SECONDS": "0.5"}
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)


async def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def _load(base: str, hook: str) -> None:
    async with httpx.AsyncClient(timeout=10) as c:
        resp = await c.post(f"{base}/Subscription", json=subscription(endpoint=hook))
        assert resp.status_code == 201, resp.text
        pat = (await c.post(f"{base}/Patient", json=patient())).json()
        for _ in range(PLANS):
            assert (await c.post(f"{base}/CarePlan", json=careplan(pat["id"]))).status_code == 201


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
async def test_no_event_lost_after_sigkill_mid_delivery(backend_name: str) -> None:
    if backend_name == "postgres" and not os.environ.get("FELLESPLAN_TEST_PG_URL"):
        pytest.skip("no PostgreSQL for this run")
    url = await database_url(backend_name, "_subkill")
    receiver = Receiver()
    receiver.hold.clear()
    rport, port = _free_port(), _free_port()
    server = uvicorn.Server(uvicorn.Config(receiver, host="127.0.0.1", port=rport, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}/fhir"
    proc = _start(url, port)
    try:
        await _wait_ready(base, proc)
        await _load(base, f"http://127.0.0.1:{rport}/hook")
        await _until(receiver.held.is_set, 30, "delivery never reached event 10")
        os.killpg(proc.pid, signal.SIGKILL)  # event 10 is in flight, 11.. are waiting
        proc.wait()
        receiver.hold.set()
        assert receiver.events == list(range(1, 10)) or receiver.events == list(range(1, 11))
        proc = _start(url, port)
        await _wait_ready(base, proc)
        await _until(lambda: len(set(receiver.events)) >= PLANS, 60, f"events missing: {receiver.events}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        server.should_exit = True
        await serving
    first_seen = list(dict.fromkeys(receiver.events))
    assert first_seen == list(range(1, PLANS + 1))  # every event, in order (10 possibly twice)
    assert len(receiver.events) - PLANS <= 1
