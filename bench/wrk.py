"""Run wrk with one of the Lua scripts and read the JSON summary the script prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"


@dataclass
class Measurement:
    """One load run: throughput, latency percentiles (ms) and errors."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    status_errors: int
    server_cpu_s: float | None = None  # CPU the server process used during the run
    cpu_ms_per_req: float | None = None  # its CPU per request: independent of other load

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the results JSON."""
        return asdict(self)


def wrk_path() -> str:
    """The wrk binary (Debian package `wrk`)."""
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    return found


def run_wrk(
    base: str, script: str, args: list[str], connections: int, seconds: float, threads: int | None = None
) -> Measurement:
    """Run wrk against a loopback base URL; bounded by `seconds`, stops by itself."""
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("load tests only target loopback servers started by the harness")
    threads = threads or min(2, connections)
    cmd = [
        wrk_path(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",  # wrk counts whole seconds
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        base,
        "--",
        *args,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=max(1, round(seconds)) + 60, check=False
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stderr.strip() or out.stdout.strip()}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    secs = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return Measurement(
        requests=raw["requests"],
        seconds=round(secs, 3),
        rps=round(raw["requests"] / secs, 1),
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors + raw["starved"],
        status_errors=raw["status_errors"],
    )
