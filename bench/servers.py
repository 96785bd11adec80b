"""Server processes for a run: Fellesplan and the ceiling under uvicorn, and a throwaway PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 60.0) -> None:
    """Poll until the URL answers (any status below 500), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Server:
    """A uvicorn process on a loopback port."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The uvicorn process id (for py-spy)."""
        return int(self.proc.pid)

    def cpu_seconds(self) -> float:
        """CPU time the server process has used (user + system), from /proc."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the process (SIGINT, then SIGKILL after 10 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_uvicorn(name: str, factory: str, env: dict[str, str], logdir: Path, ready_path: str) -> Server:
    """Serve an app factory with one uvicorn worker (uvloop, httptools, no access log)."""
    port = free_port()
    log = logdir / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    with log.open("ab") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=fh, stderr=fh)
    server = Server(name, port, proc, log)
    try:
        wait_http(server.base + ready_path, proc)
    except Exception:
        server.stop()
        raise
    return server


def db_upgrade(url: str) -> None:
    """`fellesplan db upgrade` against a database URL."""
    env = {**os.environ, "FELLESPLAN_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on loopback (as scripts/with-postgres.sh builds it)."""

    url: str
    workdir: Path
    pg_ctl: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the cluster and remove its files."""
        subprocess.run([*self.pg_ctl, "-m", "fast", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _pg_bin() -> Path:
    """The newest installed PostgreSQL bin directory."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        # As scripts/with-postgres.sh does for the test suite: Debian's package, on first use.
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "postgresql"],
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
        )
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL not installed (apt-get install postgresql) or pass --pg-url")
    return found[-1].parent


def start_postgres() -> Postgres:
    """initdb + pg_ctl start with settings comparable to a small production box."""
    pgbin = _pg_bin()
    work = Path(tempfile.mkdtemp(prefix="fellesplan-bench-pg."))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "postgres"], check=True)
        shutil.chown(work, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = work / "data"
    subprocess.run(
        [
            *as_user,
            str(pgbin / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c max_connections=200 "
        "-c shared_buffers=512MB -c fsync=on -c synchronous_commit=on"
    )
    pg_ctl = [*as_user, str(pgbin / "pg_ctl"), "-D", str(data), "-w"]
    subprocess.run([*pg_ctl, "-l", str(work / "log"), "-o", opts, "start"], check=True, capture_output=True)
    return Postgres(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", work, pg_ctl)
