"""PNG plots: throughput against concurrency, and latency against data size (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def names(entries: list[Any]) -> list[str]:
    """The plot files RESULTS.md shows."""
    return [_file(run, db) for _, run, db, _ in entries] + ["latency-vs-size.png"]


def _file(run: dict[str, Any], db: str) -> str:
    return f"throughput-{db}-{run['scale_label']}.png"


def draw(entries: list[Any], runs: list[dict[str, Any]], out: Path) -> None:
    """Throughput for each (scale, database) and the size trend over every run."""
    import matplotlib

    matplotlib.use("Agg")
    for _, run, db, res in entries:
        _throughput(db, res, out / _file(run, db), run["scale_label"])
    _latency_vs_size(runs, out / "latency-vs-size.png")


def _throughput(db: str, res: dict[str, Any], path: Path, label: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    ceiling: dict[int, list[float]] = {}
    for name, sc in res.get("scenarios", {}).items():
        if "runs" not in sc:
            continue
        cs = sorted(int(c) for c in sc["runs"] if sc["runs"][c]["fellesplan"]["rps"] > 0)  # log axis
        ax.plot(cs, [sc["runs"][str(c)]["fellesplan"]["rps"] for c in cs], marker="o", label=name)
        for c in cs:
            ceiling.setdefault(c, []).append(sc["runs"][str(c)]["ceiling"]["rps"])
    if ceiling:
        cs = sorted(ceiling)
        ax.plot(
            cs, [sum(ceiling[c]) / len(ceiling[c]) for c in cs], "k--", marker="s", label="ceiling (mean)"
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="concurrent clients",
        ylabel="requests/s",
        title=f"Throughput vs concurrency ({db}, {label})",
    )
    ax.set_xticks([1, 8, 32, 64], labels=["1", "8", "32", "64"])
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _latency_vs_size(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib.pyplot as plt

    series: dict[str, dict[int, tuple[float, float]]] = {}
    for run in runs:
        for db, res in run["dbs"].items():
            for name in ("read", "vread", "search", "chain"):
                r = res.get("scenarios", {}).get(name, {}).get("runs", {}).get("8")
                if r:
                    f = r["fellesplan"]
                    series.setdefault(f"{name} ({db})", {})[run["scale"]] = (f["p50_ms"], f["p99_ms"])
    fig, ax = plt.subplots(figsize=(10, 5))
    for key, pts in sorted(series.items()):
        xs = sorted(pts)
        line = ax.plot(xs, [pts[x][0] for x in xs], marker="o", label=f"{key} p50")[0]
        ax.plot(xs, [pts[x][1] for x in xs], marker="x", ls=":", color=line.get_color(), label=f"{key} p99")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="resources in the database",
        ylabel="latency at 8 clients (ms)",
        title="Latency vs data size",
    )
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
