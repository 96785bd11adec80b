"""Load the demo data set over HTTP: transaction Bundles when the server has them, else PUTs.

Generation runs in a child process so the load generator's CPU stays off the measured path as
far as two cores allow; the load rate is the bulk-ingest figure (resources per second).
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from app.demo.bundles import Write, chunked, patient_rounds, transaction
from app.demo.generator import DemoSet

FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
# A bulk loader needs only each entry's status and location back, not the resources it sent.
MINIMAL = {"Prefer": "return=minimal"}


@dataclass
class LoadStats:
    """What a load wrote and how fast."""

    resources: int = 0  # version-1 writes (current resources)
    writes: int = 0  # every version written
    requests: int = 0
    seconds: float = 0.0
    mode: str = ""
    ids: dict[str, str] = field(default_factory=dict)  # generator id -> server id (POST loads)
    since: str = ""  # server time when about 90% of the data had been written (for _history)
    marks: list[tuple[int, float]] = field(default_factory=list)

    @property
    def writes_per_s(self) -> float:
        """Versions written per second."""
        return self.writes / self.seconds if self.seconds else 0.0


def _group_payloads(patients: int, seed: int, start: int, stop: int, tx: bool, tx_size: int) -> list[Payload]:
    """The requests for one group of patients (runs in the child process)."""
    data = DemoSet(patients, seed)
    rounds = patient_rounds(list(data.iter_patients(start, stop)))
    if not tx:
        return _payloads(rounds, tx, tx_size)
    return [_create_payload(rounds[0]), *_payloads(rounds[1:], tx, tx_size)]


def _payloads(rounds: list[list[Write]], tx: bool, tx_size: int) -> list[Payload]:
    """Serialise rounds as transaction bodies, or as one PUT per write when tx is False."""
    out = []
    for writes in rounds:
        if not tx:
            out += [Payload(orjson.dumps(w[0]), int(w[1] == 1), 1) for w in writes]
            continue
        for chunk in chunked(writes, tx_size):
            firsts = sum(1 for _, v in chunk if v == 1)
            out.append(Payload(orjson.dumps(transaction(chunk)), firsts, len(chunk)))
    return out


def _create_payload(writes: list[Write]) -> Payload:
    """Version 1 of a group as POST entries with urn:uuid fullUrls, as a migrating client sends.

    The server assigns the ids; `local_ids` lists the generator's ids in entry order so the
    loader can map them to the server's from the response and rewrite the later versions.
    """
    local = [r["id"] for r, _ in writes]
    entries = [
        {
            "fullUrl": f"urn:uuid:{r['id']}",
            "resource": {k: v for k, v in r.items() if k != "id"},
            "request": {"method": "POST", "url": r["resourceType"]},
        }
        for r, _ in writes
    ]
    body = orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    for (r, _), rid in zip(writes, local, strict=True):
        body = body.replace(f'"{r["resourceType"]}/{rid}"'.encode(), f'"urn:uuid:{rid}"'.encode())
    return Payload(body, len(writes), len(writes), local)


@dataclass
class Payload:
    """One request body and what it writes."""

    body: bytes
    firsts: int  # version-1 writes
    writes: int
    local_ids: list[str] | None = None  # POST entries: the generator's ids, in entry order


def _progress(stats: LoadStats, elapsed: float, groups: int) -> None:
    """Record a mark, and print one line per 5% of the groups."""
    stats.marks.append((stats.writes, elapsed))
    if len(stats.marks) % max(1, groups // 20) == 0:
        done = len(stats.marks) / groups
        print(
            f"    loaded {100 * done:3.0f}%: {stats.writes} versions in {elapsed:.0f} s "
            f"({stats.writes / elapsed:.0f}/s), ~{elapsed / done - elapsed:.0f} s left",
            flush=True,
        )


# The generator's ids, like the server's, are UUIDs: one pass finds every one to rename.
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _rename(body: bytes, idmap: dict[str, str]) -> bytes:
    """Later versions name the server's ids (one scan instead of one replace per id)."""
    return _UUID.sub(lambda m: idmap.get(m.group().decode(), m.group().decode()).encode(), body)


def _assigned(local_ids: list[str], response: bytes) -> dict[str, str]:
    """Map the generator's ids to those the server assigned (response entries keep request order)."""
    entries = orjson.loads(response).get("entry") or []
    out = {}
    for local, entry in zip(local_ids, entries, strict=True):
        location = entry["response"]["location"]
        out[local] = location.split("/_history")[0].rstrip("/").split("/")[-1]
    return out


class HttpLoader:
    """Send payloads with a fixed number of concurrent clients and fail loudly on errors."""

    def __init__(self, base: str, tx_path: str | None, concurrency: int) -> None:
        self.base = base
        self.tx_path = tx_path
        self.concurrency = concurrency
        self.client = httpx.AsyncClient(
            base_url=base, timeout=300.0, headers=FHIR_JSON, limits=httpx.Limits(max_connections=concurrency)
        )
        self.stats = LoadStats(mode="transaction" if tx_path else "put")

    async def send(self, p: Payload, idmap: dict[str, str]) -> None:
        """One transaction (or one PUT, reading type/id/version from the body)."""
        body = p.body
        if p.local_ids is None and idmap:
            body = _rename(body, idmap)
        if self.tx_path is not None:
            resp = await self.client.post(self.tx_path, content=body, headers=MINIMAL)
        else:
            res = orjson.loads(body)
            headers = {}
            if p.firsts == 0:  # a later version: version-aware update
                headers["If-Match"] = await self._current_etag(res)
            resp = await self.client.put(
                f"/fhir/{res['resourceType']}/{res['id']}", content=body, headers=headers
            )
        if resp.status_code >= 300:
            raise RuntimeError(f"load failed: HTTP {resp.status_code}: {resp.text[:600]}")
        if p.local_ids is not None:
            idmap.update(_assigned(p.local_ids, resp.content))
        self.stats.resources += p.firsts
        self.stats.writes += p.writes
        self.stats.requests += 1

    async def _current_etag(self, res: dict[str, Any]) -> str:
        """The ETag of the current version (PUT mode only)."""
        resp = await self.client.get(f"/fhir/{res['resourceType']}/{res['id']}")
        return resp.headers.get("etag", 'W/"0"')

    async def close(self) -> None:
        """Close the client."""
        await self.client.aclose()


async def load_http(
    base: str,
    data: DemoSet,
    tx_path: str | None,
    *,
    concurrency: int = 4,
    group: int = 10,
    tx_size: int = 400,
) -> LoadStats:
    """Write the directory, then patient groups by `concurrency` clients, each group in rounds."""
    loader = HttpLoader(base, tx_path, concurrency)
    tx = tx_path is not None
    t0 = time.perf_counter()
    try:
        for p in _payloads([[(r, 1) for r in data.directory()]], tx, tx_size):
            await loader.send(p, {})
        starts = list(range(0, data.patients, group))
        with ProcessPoolExecutor(max_workers=1) as pool:
            await _run_groups(loader, pool, data, starts, group, tx, tx_size)
    finally:
        await loader.close()
    loader.stats.seconds = time.perf_counter() - t0
    return loader.stats


async def _run_groups(
    loader: HttpLoader,
    pool: ProcessPoolExecutor,
    data: DemoSet,
    starts: list[int],
    group: int,
    tx: bool,
    tx_size: int,
) -> None:
    """Workers take groups in order; generation runs at most a window ahead of loading."""
    window = 4 * loader.concurrency
    futures: dict[int, Future[list[Payload]]] = {}
    next_i = submitted = 0
    t0 = time.perf_counter()

    def submit_upto(limit: int) -> None:
        nonlocal submitted
        while submitted < min(limit, len(starts)):
            s = starts[submitted]
            futures[submitted] = pool.submit(
                _group_payloads, data.patients, data.seed, s, min(s + group, data.patients), tx, tx_size
            )
            submitted += 1

    async def worker() -> None:
        nonlocal next_i
        while next_i < len(starts):
            k = next_i
            next_i += 1
            submit_upto(k + window)
            payloads = await asyncio.wrap_future(futures.pop(k))
            idmap: dict[str, str] = {}
            for p in payloads:
                await loader.send(p, idmap)
            loader.stats.ids.update(idmap)
            _progress(loader.stats, time.perf_counter() - t0, len(starts))
            if not loader.stats.since and next_i >= 0.9 * len(starts):
                loader.stats.since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    submit_upto(window)
    await asyncio.gather(*(worker() for _ in range(loader.concurrency)))
