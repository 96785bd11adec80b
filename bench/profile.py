"""py-spy: a flame graph (SVG) and collapsed stacks of the server while a scenario runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.wrk import Measurement

# Frames where the process waits rather than works (event loop, pool threads idling).
_IDLE = (
    "select (selectors.py",
    "Runner.run (asyncio/runners.py",
    "_worker (concurrent/futures",
    "wait (threading.py",
    "_connection_worker_thread (aiosqlite/core.py:59)",
)
_BUCKETS = (
    ("app/validation/", "validation (app.validation, fhirpathpy)"),
    ("fhirpathpy", "validation (app.validation, fhirpathpy)"),
    ("app/search/", "search indexing/query (app.search)"),
    ("app/repository/", "repository code (app.repository)"),
    ("app/security/", "security/audit (app.security)"),
    ("sqlalchemy/", "SQLAlchemy (ORM/Core, async bridge)"),
    ("aiosqlite/", "aiosqlite (thread hop + SQLite)"),
    ("asyncpg/", "asyncpg"),
    ("pydantic", "pydantic / fhir.resources model validation"),
    ("fhir_core", "pydantic / fhir.resources model validation"),
    ("fastapi/", "FastAPI/Starlette routing, dependencies"),
    ("starlette/", "FastAPI/Starlette routing, dependencies"),
    ("uvicorn/", "uvicorn HTTP"),
    ("orjson", "JSON"),
    ("app/fhir/", "FHIR wire helpers (app.fhir)"),
    ("app/services/", "services (app.services)"),
    ("app/api/", "routes (app.api)"),
)


def py_spy() -> str:
    """The py-spy binary next to this interpreter, or on PATH."""
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else (shutil.which("py-spy") or "py-spy")


def record(pid: int, prefix: Path, load: Callable[[float], Measurement], seconds: float) -> dict[str, Any]:
    """Profile `pid` twice (SVG, then raw stacks) while `load` runs; summarise the raw stacks."""
    total = 2 * seconds + 3
    result: dict[str, Measurement] = {}
    runner = threading.Thread(target=lambda: result.setdefault("m", load(total)))
    runner.start()
    svg, raw = prefix.with_suffix(".svg"), prefix.with_suffix(".txt")
    for fmt, path in (("flamegraph", svg), ("raw", raw)):
        proc = subprocess.run(
            [
                py_spy(),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--format",
                fmt,
                "--output",
                str(path),
                "--nonblocking",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            runner.join()
            return {"error": proc.stderr.strip()[-500:]}
    runner.join()
    summary = summarise(raw)
    summary.update(svg=svg.name, raw=raw.name, during=result["m"].as_dict() if "m" in result else None)
    return summary


def summarise(raw: Path) -> dict[str, Any]:
    """Busy share, the costliest buckets and functions (self time), from collapsed stacks."""
    self_fn: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        leaf = stack.split(";")[-1]
        if not leaf.strip() or any(mark in leaf for mark in _IDLE):  # no Python frame: idle
            idle += n
            continue
        self_fn[leaf] += n
        buckets[_bucket(stack)] += n
    busy = max(1, total - idle)
    return {
        "samples": total,
        "busy_share": round((total - idle) / max(1, total), 3),
        "buckets": [(b, round(n / busy, 3)) for b, n in buckets.most_common(8)],
        "functions": [(f, round(n / busy, 3)) for f, n in self_fn.most_common(12)],
    }


def _bucket(stack: str) -> str:
    """The bucket of the innermost frame that belongs to a known package."""
    for frame in reversed(stack.split(";")):
        for needle, name in _BUCKETS:
            if needle in frame:
                return name
    return "other (interpreter, asyncio)"
