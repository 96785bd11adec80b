"""One benchmark run: per database, start the servers, load the data, run every scenario."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.demo.generator import DemoSet
from bench import profile, servers
from bench.loader import load_http
from bench.scenarios import SCENARIOS, Scenario, capabilities
from bench.targets import Targets, build
from bench.wrk import Measurement, run_wrk


@dataclass
class Options:
    """Command-line choices."""

    scale: int
    dbs: list[str]
    pg_url: str | None
    out: Path
    duration: float = 5.0
    concurrency: tuple[int, ...] = (1, 8, 32, 64)
    profile: bool = True
    seed: int = 1
    only: tuple[str, ...] = ()
    label: str = ""  # the scale as given (10k, 100k, 1m), used in file names
    parallel_load: bool = True  # load every database at once, then measure one at a time


@dataclass
class DbRun:
    """The live state of one database's run."""

    db: str
    url: str
    opts: Options
    workdir: Path
    env: dict[str, str]
    open: servers.Server | None = None
    ceiling: servers.Server | None = None
    auth: servers.Server | None = None
    novalidate: servers.Server | None = None
    targets: Targets | None = None
    caps: set[str] = field(default_factory=set)
    ids: dict[str, str] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop every server this run started."""
        for s in (self.open, self.ceiling, self.auth, self.novalidate):
            if s is not None:
                s.stop()

    def server_for(self, s: Scenario) -> servers.Server | None:
        """The Fellesplan process a scenario runs against."""
        return {"auth": self.auth, "novalidate": self.novalidate}.get(s.server, self.open)


def fellesplan_env(url: str, workdir: Path, auth: bool = False, validate: bool = True) -> dict[str, str]:
    """Environment of a Fellesplan server process."""
    return {
        "FELLESPLAN_VALIDATION_ON_WRITE": "true" if validate else "false",
        # One delivery worker per database (the open server's), as with `fellesplan worker` apart.
        "FELLESPLAN_SUBSCRIPTION_WORKER_ENABLED": "true" if validate and not auth else "false",
        "FELLESPLAN_DATABASE_URL": url,
        "FELLESPLAN_DEV_KEY_FILE": str(workdir / "dev-key.pem"),
        "FELLESPLAN_ENV": "development",
        "FELLESPLAN_LOG_LEVEL": "warning",
        "FELLESPLAN_AUTH_ENABLED": "true" if auth else "false",
        # The subscription receiver listens on loopback, which production refuses (SSRF).
        "FELLESPLAN_SUBSCRIPTION_ALLOW_PRIVATE": "true",
    }


def start_servers(r: DbRun) -> None:
    """Fellesplan (open) and the ceiling on the same database."""
    r.open = servers.start_uvicorn(
        f"fellesplan-{r.db}", "app.main:create_app", r.env, r.workdir, "/fhir/metadata"
    )
    r.ceiling = servers.start_uvicorn(
        f"ceiling-{r.db}", "bench.ceiling:create_app", {"BENCH_CEILING_DB": r.url}, r.workdir, "/ping"
    )
    cap = httpx.get(r.open.base + "/fhir/metadata", timeout=30).json()
    r.caps = capabilities(cap)
    if _security_available():
        r.caps.add("security")


def _security_available() -> bool:
    """True when development tokens can be minted (the security part is in this build)."""
    try:
        from app.security.devkeys import mint_dev_token  # noqa: F401
    except ImportError:
        return False
    return True


def load(r: DbRun, data: DemoSet) -> None:
    """Load the data set and record the ingest rate."""
    tx = "/fhir" if "transaction" in r.caps else None
    assert r.open is not None
    cpu0 = r.open.cpu_seconds()
    # PostgreSQL round trips leave a single client stream waiting: more requests in flight.
    clients = 4 if r.db == "sqlite" else 8
    stats = asyncio.run(load_http(r.open.base, data, tx, concurrency=clients))
    cpu = r.open.cpu_seconds() - cpu0
    r.result["load"] = {
        "mode": stats.mode,
        "clients": clients,
        "resources": stats.resources,
        "writes": stats.writes,
        "requests": stats.requests,
        "seconds": round(stats.seconds, 2),
        "resources_per_s": round(stats.resources / stats.seconds, 1),
        "writes_per_s": round(stats.writes_per_s, 1),
        "server_cpu_s": round(cpu, 1),
        "writes_per_cpu_s": round(stats.writes / cpu, 1) if cpu else None,
        "since": stats.since,
        "marks": stats.marks[:: max(1, len(stats.marks) // 50)],
    }
    r.targets = build(data, stats.ids, r.workdir, stats.since or _now())
    r.ids = stats.ids


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))


def probe(r: DbRun, s: Scenario) -> str | None:
    """Send one request as the scenario would; the reason it is unavailable, or None."""
    assert r.targets is not None and r.open is not None
    server = r.server_for(s)
    if server is None:
        return f"the {s.server} server could not be started"
    headers = {"Accept": "application/fhir+json"}
    if s.server == "auth":
        headers["Authorization"] = f"Bearer {r.targets.token}"
    t = r.targets
    try:
        if s.script == "get.lua":
            path = Path(s.args(t, 1, 1)[0]).read_text().splitlines()[0]
            resp = httpx.get(server.base + path, headers=headers, timeout=60)
        elif s.script == "post.lua":
            url, body = s.args(t, 1, 1)[:2]
            resp = httpx.post(
                server.base + url,
                content=Path(body).read_bytes(),
                timeout=60,
                headers={**headers, "Content-Type": "application/fhir+json"},
            )
        else:
            return None
    except httpx.HTTPError as exc:
        return f"probe failed: {exc}"
    if resp.status_code >= 300:
        return f"HTTP {resp.status_code}: {_diagnostics(resp)}"
    return None


def _diagnostics(resp: httpx.Response) -> str:
    """The OperationOutcome's first diagnostics, or the body's start."""
    try:
        return str(resp.json()["issue"][0].get("diagnostics", ""))[:300]
    except (ValueError, KeyError, IndexError, TypeError):
        return resp.text[:300]


def write_json(out: Path, result: dict[str, Any]) -> Path:
    """Write the raw figures; returns the file."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out / f"{stamp}-{result['scale_label']}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def wrk_on(server: servers.Server, s: Scenario, t: Targets, c: int, secs: float) -> Measurement:
    """One wrk run of a scenario on a server."""
    threads = min(2, c)
    before = server.cpu_seconds()
    m = run_wrk(server.base, s.script, s.args(t, c, threads), c, secs, threads)
    m.server_cpu_s = round(server.cpu_seconds() - before, 2)
    m.cpu_ms_per_req = round(1000 * m.server_cpu_s / m.requests, 2) if m.requests else None
    return m


def profile_paths(r: DbRun) -> dict[str, Any]:
    """py-spy flame graphs of the read, create, search and authenticated read paths."""
    assert r.open is not None and r.targets is not None
    out: dict[str, Any] = {}
    for name, c in (("read", 32), ("create", 8), ("search", 8), ("auth_read", 8)):
        s = next(x for x in SCENARIOS if x.name == name)
        server = r.server_for(s)
        if server is None or "runs" not in r.result["scenarios"].get(name, {}):
            continue
        load = functools.partial(wrk_on, server, s, r.targets, c)
        out[name] = profile.record(
            server.pid,
            r.opts.out / f"flame-{name}-{r.db}-{r.opts.label}",
            load,
            seconds=max(6.0, r.opts.duration),
        )
    return out
