"""`python -m bench run|report`: the whole benchmark, or the report from stored results."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from app.demo.generator import DemoSet, patients_for
from bench import machine, report, servers, subscription
from bench.measure import generator_capacity, run_scenario, start_auth, start_novalidate
from bench.run import DbRun, Options, fellesplan_env, load, profile_paths, start_servers, write_json
from bench.scenarios import SCENARIOS

RESULTS = Path(__file__).resolve().parent / "results"
SCALES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def parse_scale(text: str) -> int:
    """10k, 100k, 1m, or a plain number of resources."""
    t = text.lower().replace("_", "")
    if t in SCALES:
        return SCALES[t]
    if t.endswith("k"):
        return int(float(t[:-1]) * 1000)
    if t.endswith("m"):
        return int(float(t[:-1]) * 1_000_000)
    return int(t)


async def _create_pg_db(url: str, name: str) -> str:
    """Create a fresh database on a PostgreSQL server; returns its URL."""
    import asyncpg

    base = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


def subscription_latency(r: DbRun) -> dict[str, Any]:
    """Delivery latency of a rest-hook Subscription, or why it could not be measured."""
    assert r.open is not None and r.targets is not None
    body = r.targets.files["create"].read_bytes()
    try:
        result = asyncio.run(subscription.measure(r.open.base, r.targets.writer_patient, body))
    except Exception as exc:  # reported, never faked
        result = {"unavailable": f"not available in this build: {type(exc).__name__}: {exc}"[:400]}
    print(f"  {r.db:8} subscription delivery: {result}", flush=True)
    return result


def prepare_db(db: str, url: str, opts: Options, workdir: Path) -> DbRun:
    """Migrate the database and start the open server and the ceiling on it."""
    r = DbRun(db, url, opts, workdir, fellesplan_env(url, workdir))
    r.result["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    servers.db_upgrade(url)
    start_servers(r)
    return r


def load_db(r: DbRun, data: DemoSet) -> None:
    """Load the data set through the API."""
    print(f"[{r.db}] loading {data.patients} patients ...", flush=True)
    load(r, data)
    print(f"[{r.db}] loaded: {_short(r.result['load'])}", flush=True)


def measure_db(r: DbRun, data: DemoSet) -> None:
    """Every scenario, the subscription latency and the profiles, on a loaded database."""
    t0 = time.monotonic()
    r.result["generator_capacity"] = generator_capacity(r)
    reg = data.regions[0]
    start_auth(r, reg.orgnrs["kommune"], reg.in_unit("kommune")[0].hpr)
    start_novalidate(r)
    chosen = [s for s in SCENARIOS if not r.opts.only or s.name in r.opts.only]
    r.result["scenarios"] = {s.name: run_scenario(r, s) for s in chosen}
    if not r.opts.only or "subscription" in r.opts.only:
        r.result["subscription"] = subscription_latency(r)
    if r.opts.profile:
        r.result["profiles"] = profile_paths(r)
    r.result["measure_seconds"] = round(time.monotonic() - t0, 1)
    r.result["seconds"] = round(r.result["load"]["seconds"] + r.result["measure_seconds"], 1)
    r.result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]


def run_dbs(urls: dict[str, tuple[str, Path]], opts: Options, data: DemoSet) -> dict[str, Any]:
    """Load every database (at once when asked: the slow part), then measure them one by one."""
    runs: list[DbRun] = []
    try:
        for db, (url, workdir) in urls.items():
            runs.append(prepare_db(db, url, opts, workdir))
        together = opts.parallel_load and len(runs) > 1
        if together:  # each load keeps about one core busy; the scenarios below run alone
            with ThreadPoolExecutor(len(runs)) as pool:
                list(pool.map(lambda r: load_db(r, data), runs))
            for r in runs:
                r.result["load"]["alongside"] = [o.db for o in runs if o is not r]
        for r in runs:
            if not together:
                load_db(r, data)
            measure_db(r, data)
            r.stop()
    finally:
        for r in runs:
            r.stop()
    return {r.db: r.result for r in runs}


def _short(load_result: dict[str, Any]) -> dict[str, Any]:
    """The load figures without the progress marks."""
    return {k: v for k, v in load_result.items() if k != "marks"}


def run(opts: Options, label: str) -> Path:
    """Run every requested database; write JSON, RESULTS.md and plots; returns the JSON file."""
    t0 = time.monotonic()
    data = DemoSet(patients_for(opts.scale, opts.seed), opts.seed)
    result: dict[str, Any] = {
        "scale": opts.scale,
        "scale_label": label,
        "patients": data.patients,
        "seed": opts.seed,
        "duration_s": opts.duration,
        "concurrency": list(opts.concurrency),
        "started": _utc(),
        "machine": machine.info(),
        "dbs": {},
    }
    work = Path(tempfile.mkdtemp(prefix="fellesplan-bench."))
    pg: servers.Postgres | None = None
    try:
        urls: dict[str, tuple[str, Path]] = {}
        for db in opts.dbs:
            sub = work / db
            sub.mkdir()
            if db == "sqlite":
                urls[db] = (f"sqlite+aiosqlite:///{sub}/bench.db", sub)
                continue
            if opts.pg_url is None and pg is None:
                pg = servers.start_postgres()
            base = opts.pg_url or (pg.url if pg else "")
            urls[db] = (asyncio.run(_create_pg_db(base, f"bench_{label}")), sub)
        result["dbs"] = run_dbs(urls, opts, data)
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    result["total_seconds"] = round(time.monotonic() - t0, 1)
    path = write_json(opts.out, result)
    report.write_all(opts.out)
    return path


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@click.group()
def cli() -> None:
    """Fellesplan benchmark harness."""


@cli.command("run")
@click.option("--scale", default="10k", show_default=True, help="10k, 100k, 1m or a number.")
@click.option(
    "--db", "db", type=click.Choice(["sqlite", "postgres", "both"]), default="both", show_default=True
)
@click.option("--pg-url", default=None, help="Use this PostgreSQL server (creates bench_<scale>).")
@click.option("--duration", default=5.0, show_default=True, help="Seconds per measurement.")
@click.option("--concurrency", default="1,8,32,64", show_default=True)
@click.option("--only", default="", help="Comma-separated scenario names.")
@click.option("--no-profile", is_flag=True, help="Skip the py-spy flame graphs.")
@click.option("--serial-load", is_flag=True, help="Load one database after the other (default: at once).")
@click.option("--out", type=click.Path(path_type=Path), default=RESULTS, show_default=True)
def run_cmd(
    scale: str,
    db: str,
    pg_url: str | None,
    duration: float,
    concurrency: str,
    only: str,
    no_profile: bool,
    serial_load: bool,
    out: Path,
) -> None:
    """Load the data and run every scenario; writes results/*.json, RESULTS.md and plots."""
    dbs = ["sqlite", "postgres"] if db == "both" else [db]
    opts = Options(
        parse_scale(scale),
        dbs,
        pg_url,
        out,
        duration,
        tuple(int(c) for c in concurrency.split(",")),
        not no_profile,
        only=tuple(x for x in only.split(",") if x),
        label=scale.lower(),
        parallel_load=not serial_load,
    )
    path = run(opts, scale.lower())
    click.echo(f"Results: {path}")


@cli.command("report")
@click.option("--out", type=click.Path(path_type=Path), default=RESULTS, show_default=True)
def report_cmd(out: Path) -> None:
    """Rewrite RESULTS.md and the plots from the stored results."""
    report.write_all(out)
