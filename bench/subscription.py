"""Subscription delivery latency: from the write's commit (meta.lastUpdated) to a loopback receiver.

A rest-hook Subscription on one patient's CarePlans points at a tiny HTTP receiver in this
process; the harness creates crisis plans for that patient one at a time and matches each
notification to its write by the resource id it carries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
import orjson

from bench.servers import free_port

WAIT_FIRST_S = 15.0


class Receiver:
    """A minimal HTTP/1.1 server that answers 200 and remembers when each body arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[tuple[float, bytes]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                self.arrivals.append((time.time(), body))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # the run is over; idle keep-alive connections end here
            return
        finally:
            writer.close()


def _subscription(patient: str, endpoint: str) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Ytelsestest: varsling om endret kriseplan",
        "criteria": f"CarePlan?patient={patient}",
        "channel": {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json"},
    }


def _epoch(instant: str) -> float:
    return dt.datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp()


async def _writes(client: httpx.AsyncClient, body: bytes, count: int, gap: float) -> dict[str, float]:
    """Create plans one by one; the resource id -> its commit time (meta.lastUpdated)."""
    out = {}
    for _ in range(count):
        resp = await client.post("/fhir/CarePlan", content=body)
        resp.raise_for_status()
        res = resp.json()
        out[res["id"]] = _epoch(res["meta"]["lastUpdated"])
        await asyncio.sleep(gap)
    return out


async def measure(
    base: str, patient: str, create_body: bytes, count: int = 50, gap: float = 0.1
) -> dict[str, Any]:
    """Delivery latency p50/p99 in ms, or the reason it could not be measured."""
    rx = Receiver()
    await rx.start()
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            sub = _subscription(patient, f"http://127.0.0.1:{rx.port}/hook")
            resp = await client.post("/fhir/Subscription", content=orjson.dumps(sub))
            if resp.status_code >= 300:
                return {
                    "unavailable": f"not available in this build: Subscription create gave "
                    f"HTTP {resp.status_code}: {resp.text[:300]}"
                }
            first = await _writes(client, create_body, 1, 0)
            if not await _arrived(rx, next(iter(first)), WAIT_FIRST_S):
                return {
                    "unavailable": "not available in this build: no notification reached the "
                    f"receiver within {WAIT_FIRST_S:.0f} s (no delivery worker?)"
                }
            commits = await _writes(client, create_body, count, gap)
            await asyncio.sleep(3.0)
    finally:
        await rx.stop()
    return _latencies(rx.arrivals, commits)


async def _arrived(rx: Receiver, res_id: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(res_id.encode() in body for _, body in rx.arrivals):
            return True
        await asyncio.sleep(0.05)
    return False


def _latencies(arrivals: list[tuple[float, bytes]], commits: dict[str, float]) -> dict[str, Any]:
    """Per write, the first notification that names it, minus its commit time."""
    lat = []
    for res_id, committed in commits.items():
        hit = next((t for t, body in arrivals if res_id.encode() in body), None)
        if hit is not None:
            lat.append(max(0.0, hit - committed) * 1000)
    lat.sort()
    if not lat:
        return {"unavailable": "no notification matched the writes"}

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1)

    return {
        "writes": len(commits),
        "delivered": len(lat),
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1], 1),
    }
