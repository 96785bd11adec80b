"""RESULTS.md and the plots, from the JSON files in bench/results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import plots
from bench.targets_check import anchors, targets

HEAD = "# Fellesplan benchmark results\n\n"


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every stored run, oldest first (file names start with a UTC timestamp)."""
    runs = []
    for path in sorted(out.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["_file"] = path.name
        runs.append(data)
    return runs


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _cpu(m: dict[str, Any]) -> str:
    v = m.get("cpu_ms_per_req")
    return "–" if v is None else f"{v:.2f}"


def _cpu_ratio(f: dict[str, Any], ce: dict[str, Any]) -> str:
    a, b = f.get("cpu_ms_per_req"), ce.get("cpu_ms_per_req")
    return "–" if not a or not b else f"{a / b:.1f}"


def scenario_table(db: str, res: dict[str, Any]) -> list[str]:
    """One row per scenario and concurrency, with the paired ceiling and the ratio."""
    lines = [
        f"### {db}: scenarios (each paired with the ceiling at the same concurrency)",
        "",
        "| scenario | c | req/s | p50 ms | p95 ms | p99 ms | errors | ceiling req/s | ratio "
        "| CPU ms/req | ×ceiling CPU | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    missing: list[str] = []
    checks: list[str] = [""]
    for name, sc in res.get("scenarios", {}).items():
        if "unavailable" in sc:
            missing.append(f"- **{name}**: {sc['unavailable']}")
            continue
        if sc.get("check"):
            checks.append(f"- {name}: answers checked: {sc['check']}")
        for c, run in sc["runs"].items():
            f, ce = run["fellesplan"], run["ceiling"]
            failed = f["errors"] + f["status_errors"]
            bad = " ⚠" if f["requests"] == 0 or failed > 0.01 * f["requests"] else ""
            lines.append(
                f"| {name} | {c} | {f['rps']:.0f}{bad} | {_ms(f['p50_ms'])} | {_ms(f['p95_ms'])} | "
                f"{_ms(f['p99_ms'])} | {f['errors'] + f['status_errors']} | {ce['rps']:.0f} | "
                f"{run['ratio_rps']:.2f} | {_cpu(f)} | {_cpu_ratio(f, ce)} | {run.get('loadavg', '–')} |"
            )
    lines += checks
    lines += [
        "",
        "⚠: no request completed within the run, or more than 1% failed (for update: found no "
        "free version); such a figure is not valid.",
    ]
    if missing:
        lines += ["", "Not measured:", "", *missing]
    return [*lines, ""]


def _alongside(ld: dict[str, Any]) -> str:
    """Say so when another database was loading at the same time (the cores were shared)."""
    others = ld.get("alongside") or []
    return f"; loaded while {', '.join(others)} loaded too, so the cores were shared" if others else ""


def load_section(db: str, res: dict[str, Any], cores: int) -> list[str]:
    """Bulk ingest and the load generator's capacity."""
    ld = res.get("load", {})
    cap = res.get("generator_capacity", {})
    lines = [
        f"### {db}: bulk ingest and load generator",
        "",
        f"- Ingest ({ld.get('mode')} Bundles from {ld.get('clients', 4)} concurrent clients, validation and "
        f"indexing on{_alongside(ld)}): "
        f"**{ld.get('writes_per_s')} resource versions/s** ({ld.get('writes')} versions of "
        f"{ld.get('resources')} resources in {ld.get('seconds')} s; {ld.get('resources_per_s')} new "
        f"resources/s counting first versions only), "
        f"{(ld.get('writes_per_s') or 0) / max(1, cores):.0f} versions/s per core; "
        f"{ld.get('writes_per_cpu_s', '–')} versions per CPU-second of the server process "
        f"({ld.get('server_cpu_s', '–')} CPU-s used).",
    ]
    for c, m in cap.items():
        lines.append(
            f"- wrk against a trivial endpoint (`/ping`, same uvicorn), c={c}: "
            f"**{m['rps']:.0f} req/s**, p99 {_ms(m['p99_ms'])} ms."
        )
    best = max(
        (
            run["fellesplan"]["rps"]
            for sc in res.get("scenarios", {}).values()
            for run in sc.get("runs", {}).values()
        ),
        default=0.0,
    )
    top = max((m["rps"] for m in cap.values()), default=0.0)
    if best and top:
        lines.append(
            f"- The generator's capacity is {top / best:.0f}× the best Fellesplan throughput "
            f"measured ({best:.0f} req/s): wrk is not what limits these figures."
        )
    return [*lines, f"- Run time for this database: {res.get('seconds')} s.", ""]


def profile_section(db: str, res: dict[str, Any]) -> list[str]:
    """Top three costs of the read and create paths from py-spy."""
    lines = []
    for name, prof in (res.get("profiles") or {}).items():
        if "error" in prof:
            lines.append(f"- {db} {name}: py-spy failed: {prof['error']}")
            continue
        top = "; ".join(f"{b} {100 * s:.0f}%" for b, s in prof["buckets"][:3])
        funcs = ", ".join(f"`{f.split(' (')[0]}` {100 * s:.0f}%" for f, s in prof["functions"][:3])
        lines.append(
            f"- **{db} {name}** ([flame graph](results/{prof['svg']})): busy "
            f"{100 * prof['busy_share']:.0f}% of samples. Top three costs (self time, of busy): "
            f"{top}. Hottest functions: {funcs}."
        )
    return lines


Entry = tuple[str, dict[str, Any], str, dict[str, Any]]  # (label, run, db, db result)


def latest_entries(runs: list[dict[str, Any]]) -> list[Entry]:
    """The newest result per (scale, database), biggest scale first."""
    latest: dict[tuple[int, str], Entry] = {}
    for run in runs:
        for db, res in run["dbs"].items():
            latest[(run["scale"], db)] = (f"{db}, {run['scale_label']}", run, db, res)
    return [latest[k] for k in sorted(latest, key=lambda k: (-k[0], k[1]))]


def _header(entries: list[Entry]) -> list[str]:
    """Where the figures come from: runs, machine, commit."""
    lines = [HEAD, "Figures below are the newest run per scale and database:", ""]
    for label, run, _db, res in entries:
        m = run["machine"]
        lines.append(
            f"- **{label}**: `{run['_file']}`, started {run['started']}, {run['scale']} resources "
            f"({run['patients']} patients), {run['duration_s']} s per measurement, this database "
            f"{res.get('seconds')} s, load average {res.get('loadavg_start')} → {res.get('loadavg_end')}; "
            f"commit `{m['git_commit'][:12]}`{' (dirty tree)' if m['git_dirty'] else ''}."
        )
    m = entries[0][1]["machine"]
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, Python {m['python']}, "
        f"{m['wrk']}. Shared with other work: the load average column shows how busy it was.",
        "",
        "Fellesplan runs as one uvicorn worker; the ceiling is a bare Starlette app on the same "
        "uvicorn reading the same row with raw SQL through the same driver and pool size. Every "
        "Fellesplan figure is paired with the ceiling measured right after it at the same "
        "concurrency; ratio = Fellesplan req/s ÷ ceiling req/s, so the machine's noise cancels out. "
        "CPU ms/req is the server process's own CPU time per request (from /proc; PostgreSQL's "
        "backends not included) and ×ceiling CPU divides it by the ceiling's: both hold even when "
        "other work competes for the cores.",
        "",
    ]
    return lines


def render(runs: list[dict[str, Any]]) -> str:
    """The whole RESULTS.md: targets, anchors, tables, profiles and plots."""
    entries = latest_entries(runs)
    out = _header(entries)
    out += ["## Targets", "", *targets(entries), "", "## Anchors (per core)", "", *anchors(entries), ""]
    for label, run, _db, res in entries:
        cores = int(run["machine"].get("cores") or 1)
        out += load_section(label, res, cores) + scenario_table(label, res)
    out += ["## Profiles (py-spy)", ""]
    for label, _run, _db, res in entries:
        out += profile_section(label, res)
    notes = out_dir_notes()
    if notes.exists():  # the hand-written reading of the figures, kept next to this file
        out += ["", notes.read_text(encoding="utf-8").strip()]
    out += ["", "## Plots", ""] + [f"![{p}](results/{p})" for p in plots.names(entries)]
    out += [
        "",
        "## How to run",
        "",
        "- `make bench`: `python -m bench run --scale 100k` "
        "(SQLite and a throwaway PostgreSQL; `--db sqlite|postgres`, `--pg-url` to use another server).",
        "- `make bench-large`: the same at 1M resources. Not run yet: at today's ingest rate the load "
        "alone takes ≈ 4 h on SQLite and ≈ 3 h on PostgreSQL (see Run time above).",
        "- `python -m bench report` rewrites this file and the plots from `results/*.json`.",
        "",
    ]
    return "\n".join(out)


def out_dir_notes() -> Path:
    """bench/NOTES.md: the analysis written by hand, included in RESULTS.md."""
    return Path(__file__).resolve().parent / "NOTES.md"


def write_all(out: Path) -> None:
    """Write RESULTS.md (next to the results folder) and the plots."""
    runs = load_results(out)
    if not runs:
        return
    plots.draw(latest_entries(runs), runs, out)
    (out.parent / "RESULTS.md").write_text(render(runs), encoding="utf-8")
