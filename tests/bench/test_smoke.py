"""The benchmark pipeline end to end at a tiny scale: servers, load, wrk, pairing, report, plots.

It checks that every stage produces its output, never how fast anything is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.main import parse_scale
from bench.profile import summarise

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("bench")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_pipeline_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "results"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--scale",
        "150",
        "--db",
        "sqlite",
        "--duration",
        "1",
        "--concurrency",
        "4",
        "--only",
        "read,search,update,tx10,create,create_unvalidated,validate_op",
        "--no-profile",
        "--out",
        str(out),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FELLESPLAN_")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    sqlite = result["dbs"]["sqlite"]
    assert sqlite["load"]["resources"] > 50 and sqlite["load"]["writes"] > sqlite["load"]["resources"]
    assert sqlite["generator_capacity"]["64"]["rps"] > 0
    read = sqlite["scenarios"]["read"]["runs"]
    assert set(read) == {"4"}
    for run in read.values():
        assert run["fellesplan"]["requests"] > 0 and run["fellesplan"]["status_errors"] == 0
        assert run["ceiling"]["rps"] > 0 and run["ratio_rps"] > 0
    # Measured, or honestly reported as missing.
    for name in ("search", "update", "tx10", "create", "validate_op"):
        sc = sqlite["scenarios"][name]
        assert "runs" in sc or sc["unavailable"].startswith("not available")
    if "runs" in sqlite["scenarios"]["update"]:  # If-Match bookkeeping in the Lua script held
        assert all(
            r["fellesplan"]["status_errors"] == 0 and r["fellesplan"]["errors"] == 0
            for r in sqlite["scenarios"]["update"]["runs"].values()
        )
    bare = sqlite["scenarios"]["create_unvalidated"]["runs"]["4"]["fellesplan"]
    assert bare["requests"] > 0 and bare["status_errors"] == 0  # the third server took writes
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "## Targets" in text and "| read | 4 |" in text
    assert "Validation on write adds ≤ 30% to a Kriseplan create (sqlite, 150): **" in text
    assert (out / "throughput-sqlite-150.png").stat().st_size > 0
    assert (out / "latency-vs-size.png").stat().st_size > 0


def test_scales() -> None:
    assert [parse_scale(s) for s in ("10k", "100k", "1m", "1M", "2500")] == [
        10_000,
        100_000,
        1_000_000,
        1_000_000,
        2500,
    ]


def test_profile_summary_names_costs(tmp_path: Path) -> None:
    raw = tmp_path / "p.txt"
    raw.write_text(
        "main (a.py:1);validate (app/validation/validator.py:10) 6\n"
        "main (a.py:1);execute (sqlalchemy/engine/base.py:5) 3\n"
        "main (a.py:1);select (selectors.py:451) 10\n"
        " 5\n",
        encoding="utf-8",
    )
    s = summarise(raw)
    assert s["samples"] == 24 and s["busy_share"] == round(9 / 24, 3)
    assert s["buckets"][0] == ("validation (app.validation, fhirpathpy)", round(6 / 9, 3))


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
@pytest.mark.skipif(not os.environ.get("FELLESPLAN_TEST_PG_URL"), reason="no PostgreSQL for this run")
def test_both_databases_load_at_once(tmp_path: Path) -> None:
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "bench", "run", "--scale", "120", "--db", "both",
           "--pg-url", os.environ["FELLESPLAN_TEST_PG_URL"], "--duration", "1", "--concurrency", "2",
           "--only", "read", "--no-profile", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FELLESPLAN_")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    for db, other in (("sqlite", "postgres"), ("postgres", "sqlite")):
        res = result["dbs"][db]
        assert res["load"]["alongside"] == [other] and res["load"]["writes"] > res["load"]["resources"]
        assert res["scenarios"]["read"]["runs"]["2"]["fellesplan"]["requests"] > 0
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "loaded while postgres loaded too" in text and "loaded while sqlite loaded too" in text
