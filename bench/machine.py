"""Facts about the machine and the build, stored with every result."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from typing import Any

from bench.servers import ROOT


def _cmd(*args: str) -> str:
    try:
        return subprocess.run(
            args, capture_output=True, text=True, check=False, cwd=ROOT, timeout=10
        ).stdout.strip()
    except OSError:
        return ""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _mem_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kb = int(fh.readline().split()[1])
        return round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


def info() -> dict[str, Any]:
    """CPU, memory, OS, versions and the git commit (with a dirty flag)."""
    versions = {}
    for pkg in (
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "orjson",
        "fhir.resources",
        "httpx",
        "uvloop",
        "httptools",
    ):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _mem_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": _cmd("wrk", "--version").splitlines()[0] if _cmd("wrk", "--version") else "",
        "git_commit": _cmd("git", "rev-parse", "HEAD"),
        "git_dirty": bool(_cmd("git", "status", "--porcelain", "--untracked-files=no")),
        "packages": versions,
    }
