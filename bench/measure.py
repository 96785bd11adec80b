"""The scenario loop: each Fellesplan measurement paired with the ceiling at the same concurrency."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from bench import servers
from bench.run import DbRun, fellesplan_env, probe, wrk_on
from bench.scenarios import SCENARIOS, Scenario, missing
from bench.wrk import Measurement, run_wrk

READ = next(s for s in SCENARIOS if s.name == "read")


def generator_capacity(r: DbRun) -> dict[str, Any]:
    """wrk against the ceiling's trivial endpoint: what the load generator can push here."""
    assert r.ceiling is not None and r.targets is not None
    ping = r.workdir / "ping.txt"
    ping.write_text("/ping\n", encoding="utf-8")
    out = {}
    for c in (8, 64) if r.opts.duration >= 3 else (64,):
        m = _wrk_paths(r.ceiling, ping, c, r.opts.duration)
        out[str(c)] = m.as_dict()
    return out


def _wrk_paths(server: servers.Server, paths: Path, c: int, secs: float) -> Measurement:
    return run_wrk(server.base, "get.lua", [str(paths)], c, secs, min(2, c))


def refresh_update_pool(r: DbRun) -> None:
    """Write the update pool with each plan's current version (earlier runs moved them on)."""
    assert r.targets is not None and r.open is not None
    src = r.targets.files["update_src"].read_text(encoding="utf-8").splitlines()
    lines = []
    with httpx.Client(base_url=r.open.base, timeout=60) as client:
        for line in src:
            path, _, body = line.split(" ", 2)
            etag = client.get(f"/fhir/{path}").headers.get("etag", 'W/"1"')
            lines.append(f"{path} {etag.split(chr(34))[1]} {body}")
    pool = r.workdir / "update_pool.txt"
    pool.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r.targets.files["update_pool"] = pool


def check_answer(r: DbRun, s: Scenario) -> str:
    """For searches: do the answers hold what was asked for? (A fast empty answer proves nothing.)"""
    if s.name not in ("search", "chain") or r.open is None or r.targets is None:
        return ""
    path = Path(s.args(r.targets, 1, 1)[0]).read_text().splitlines()[0]
    body = httpx.get(r.open.base + path, timeout=60).json()
    kinds = [e.get("resource", {}).get("resourceType") for e in body.get("entry") or []]
    plans, teams = kinds.count("CarePlan"), kinds.count("CareTeam")
    if plans == 0:
        return "WRONG: the first query matched no CarePlan"
    if s.name == "search" and teams == 0:
        return f"{plans} CarePlan, but _include=CarePlan:care-team returned no CareTeam"
    return f"ok: {plans} CarePlan" + (f" + {teams} CareTeam" if teams else "")


def run_scenario(r: DbRun, s: Scenario) -> dict[str, Any]:
    """Every concurrency of one scenario, each followed by the ceiling's read at that concurrency."""
    gone = missing(s, r.caps)
    if gone:
        return {"unavailable": f"not available in this build (missing: {', '.join(gone)})"}
    reason = probe(r, s)
    if reason:
        return {"unavailable": f"not available in this build: {reason}"}
    server = r.server_for(s)
    assert server is not None and r.ceiling is not None and r.targets is not None
    secs = r.opts.duration
    if s.name != "update" and secs >= 3:  # warm-up (the update pool is refreshed per run instead)
        wrk_on(server, s, r.targets, min(8, max(r.opts.concurrency)), 1.0)
    out: dict[str, Any] = {"title": s.title, "runs": {}, "check": check_answer(r, s)}
    for c in r.opts.concurrency:
        if s.name == "update":
            refresh_update_pool(r)
        fp = wrk_on(server, s, r.targets, c, secs)
        # The ceiling is steady (one SELECT): a shorter run is enough and keeps `make bench` short.
        ceiling = wrk_on(r.ceiling, READ, r.targets, c, min(secs, max(2.0, 0.6 * secs)))
        out["runs"][str(c)] = {
            "loadavg": round(os.getloadavg()[0], 2),
            "fellesplan": fp.as_dict(),
            "ceiling": ceiling.as_dict(),
            "ratio_rps": round(fp.rps / ceiling.rps, 3) if ceiling.rps else None,
        }
        print(
            f"  {r.db:8} {s.name:22} c={c:<3} {fp.rps:8.1f} req/s p50 {fp.p50_ms:7.2f} "
            f"p99 {fp.p99_ms:8.2f} ms  err {fp.status_errors + fp.errors:<5} "
            f"ceiling {ceiling.rps:8.1f} req/s  ratio {out['runs'][str(c)]['ratio_rps']}",
            flush=True,
        )
    return out


def start_auth(r: DbRun, data_orgnr: str, hpr: str | None) -> None:
    """A second Fellesplan process with authentication on, and a token for a team member."""
    assert r.targets is not None
    wanted = any(s.server == "auth" for s in SCENARIOS if not r.opts.only or s.name in r.opts.only)
    if "security" not in r.caps or not wanted:
        return
    try:
        from app.config import Settings
        from app.security.devkeys import mint_dev_token

        settings = Settings(dev_key_file=r.env["FELLESPLAN_DEV_KEY_FILE"], database_url=r.url)
        r.targets.token = mint_dev_token(
            hpr=hpr, org=data_orgnr, purpose="TREAT", settings=settings, name="Benchmark Koordinator"
        )
    except Exception as exc:  # reported as unavailable, never faked
        r.result["auth_error"] = f"{type(exc).__name__}: {exc}"[:400]
        return
    r.auth = _start_variant(r, "auth", fellesplan_env(r.url, r.workdir, auth=True))


def start_novalidate(r: DbRun) -> None:
    """A third Fellesplan process without profile validation on write (prices validation)."""
    if any(s.server == "novalidate" for s in SCENARIOS if not r.opts.only or s.name in r.opts.only):
        r.novalidate = _start_variant(r, "novalidate", fellesplan_env(r.url, r.workdir, validate=False))


def _start_variant(r: DbRun, kind: str, env: dict[str, str]) -> servers.Server | None:
    """Another Fellesplan process on the same database; None (with the reason kept) if it fails."""
    try:
        return servers.start_uvicorn(f"fellesplan-{kind}-{r.db}", "app.main:create_app", env, r.workdir,
                                     "/fhir/metadata")
    except Exception as exc:  # reported as unavailable, never faked
        r.result[f"{kind}_error"] = f"{type(exc).__name__}: {exc}"[:400]
        return None
