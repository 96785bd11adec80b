"""The issue's targets and the published anchors, evaluated against measured figures."""

from __future__ import annotations

from typing import Any


def _run(res: dict[str, Any], name: str, c: int) -> dict[str, Any] | None:
    """The paired run of a scenario at a concurrency, if measured."""
    sc = res.get("scenarios", {}).get(name, {})
    return sc.get("runs", {}).get(str(c))


def _best(res: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The run with the highest throughput."""
    runs = res.get("scenarios", {}).get(name, {}).get("runs", {})
    return max(runs.values(), key=lambda r: r["fellesplan"]["rps"], default=None)


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**missed**")


def _read_target(db: str, res: dict[str, Any]) -> str:
    r = _run(res, "read", 32)
    if r is None:
        return f"- Read by id ≥ 60% of ceiling at 32 clients, p99 ≤ 20 ms ({db}): not measured"
    ratio, p99 = r["ratio_rps"], r["fellesplan"]["p99_ms"]
    ok = ratio >= 0.6 and p99 <= 20
    return (
        f"- Read by id ≥ 60% of ceiling at 32 clients, p99 ≤ 20 ms ({db}): {_verdict(ok)}: "
        f"{100 * ratio:.0f}% of the ceiling, p99 {p99:.1f} ms"
        + (
            ""
            if ok
            else f" ({'ratio short by %.0f points' % (60 - 100 * ratio) if ratio < 0.6 else ''}"
            f"{'; ' if ratio < 0.6 and p99 > 20 else ''}"
            f"{'p99 %.1f× the target' % (p99 / 20) if p99 > 20 else ''})"
        )
    )


def _ingest_target(label: str, res: dict[str, Any]) -> str:
    ld = res.get("load", {})
    rate = ld.get("writes_per_s")
    text = f"- Ingest through transactions, validation and indexing on, ≥ 1,000 resources/s ({label}): "
    if rate is None:
        return text + "not measured"
    ok = rate >= 1000
    return text + (
        f"{_verdict(ok)}: {rate:.0f} resource versions/s ({ld.get('resources_per_s'):.0f} new resources/s "
        f"counting only first versions)" + ("" if ok else f", {1000 / max(rate, 0.1):.0f}× too slow")
    )


def _search_target(entries: list[Any]) -> str:
    """Judged on the single-client p50 (a latency target); the 8-client p50 is shown too."""
    by_scale: dict[int, tuple[float, float | None]] = {}
    for _, run, db, res in entries:
        one, eight = (_run(res, "search", 1), _run(res, "search", 8)) if db == "postgres" else (None, None)
        if one:
            by_scale[run["scale"]] = (
                one["fellesplan"]["p50_ms"],
                eight["fellesplan"]["p50_ms"] if eight else None,
            )
    text = "- Patient+category search at 1M on PostgreSQL p50 ≤ 10 ms and ≤ 2× the 10k figure: "
    seen = ", ".join(
        f"{s // 1000}k: p50 {a:.1f} ms at 1 client" + (f", {b:.1f} ms at 8" if b else "")
        for s, (a, b) in sorted(by_scale.items())
    )
    if 1_000_000 not in by_scale:
        return text + f"not measured at 1M (so far: {seen or 'none'})"
    big, small = by_scale[1_000_000][0], by_scale.get(10_000, (None, None))[0]
    ok = big <= 10 and (small is None or big <= 2 * small)
    return text + f"{_verdict(ok)}: {seen}" + (f"; 1M is {big / small:.1f}× the 10k figure" if small else "")


def _auth_target(db: str, res: dict[str, Any]) -> str:
    return _paired(f"- Auth + audit + consent read cost ≤ 1.4× the open read ({db}): ",
                   res, "auth_read", "open_read_auth_paths", 1.4)


def _auth_search_target(db: str, res: dict[str, Any]) -> str:
    return _paired(f"- Consent-filtered search cost ≤ 1.5× the same unfiltered search ({db}): ",
                   res, "auth_search", "open_search_auth_paths", 1.5)


def _paired(text: str, res: dict[str, Any], name: str, base_name: str, limit: float) -> str:
    """Throughput of the open twin over the guarded scenario, per concurrency (CPU shown too)."""
    sc = res.get("scenarios", {}).get(name, {})
    if "runs" not in sc:
        return text + f"not measured ({sc.get('unavailable', 'not run')})"
    parts, worst = [], 0.0
    for c, run in sc["runs"].items():
        base = _run(res, base_name, int(c))
        if base:
            if run["fellesplan"]["requests"] == 0:
                worst = float("inf")
                parts.append(f"c={c}: no request completed within the run")
                continue
            cost = base["fellesplan"]["rps"] / run["fellesplan"]["rps"]
            worst = max(worst, cost)
            cpu = (run["fellesplan"].get("cpu_ms_per_req"), base["fellesplan"].get("cpu_ms_per_req"))
            extra = f" (CPU {cpu[0]:.2f} vs {cpu[1]:.2f} ms/req)" if all(cpu) else ""
            parts.append(f"c={c}: {cost:.2f}×{extra}")
    if not parts:
        return text + f"not measured (no {base_name} runs to pair with)"
    return text + f"{_verdict(worst <= limit)}: {', '.join(parts)} (throughput ratio)"


def _validation_target(db: str, res: dict[str, Any]) -> str:
    """Issue 6: profile validation on write adds at most ~30% to a create (same body, same run)."""
    return _paired(f"- Validation on write adds ≤ 30% to a Kriseplan create ({db}): ",
                   res, "create", "create_unvalidated", 1.3)


def _subscription_target(db: str, res: dict[str, Any]) -> str:
    text = f"- Subscription delivery, commit to receiver, p99 ≤ 1 s ({db}): "
    sub = res.get("subscription") or {}
    if "p99_ms" not in sub:
        return text + f"not measured ({sub.get('unavailable', 'not run')})"
    ok = sub["p99_ms"] <= 1000
    return text + (
        f"{_verdict(ok)}: p50 {sub['p50_ms']:.0f} ms, p99 {sub['p99_ms']:.0f} ms "
        f"({sub['delivered']}/{sub['writes']} delivered)"
    )


def targets(entries: list[Any]) -> list[str]:
    """One line per target and (scale, database), from the newest results."""
    lines = [_read_target(label, res) for label, _, _, res in entries]
    lines += [_ingest_target(label, res) for label, _, db, res in entries if db == "sqlite"]
    lines.append(_search_target(entries))
    lines += [_auth_target(label, res) for label, _, _, res in entries]
    lines += [_auth_search_target(label, res) for label, _, _, res in entries]
    lines += [_validation_target(label, res) for label, _, _, res in entries]
    lines += [_subscription_target(label, res) for label, _, _, res in entries]
    return lines


def anchors(entries: list[Any]) -> list[str]:
    """Our per-core figures next to Blaze, IBM FHIR, Medplum and HAPI."""
    lines = []
    for label, run, _db, res in entries:
        lines += _anchor_lines(label, int(run["machine"].get("cores") or 1), res)
    return lines


def _anchor_lines(db: str, cores: int, res: dict[str, Any]) -> list[str]:
    lines = []
    best = _best(res, "read")
    if best:
        f = best["fellesplan"]
        cpu = f.get("cpu_ms_per_req")
        per_cpu = f"; {1000 / cpu:.0f} reads per server CPU-second" if cpu else ""
        lines.append(
            f"- {db} read: {f['rps'] / cores:.0f} reads/s per machine core at best{per_cpu}, p99 "
            f"{f['p99_ms']:.1f} ms (Blaze ≈ 2,000 reads/s per core, p99 4 ms: {f['rps'] / cores / 2000:.2f}×)"
        )
    rate = res.get("load", {}).get("writes_per_s")
    if rate:
        per_cpu = res.get("load", {}).get("writes_per_cpu_s")
        extra = f"; {per_cpu:.0f} per server CPU-second" if per_cpu else ""
        lines.append(
            f"- {db} ingest: {rate / cores:.0f} resource versions/s per machine core{extra} (IBM FHIR "
            f"≈ 940/s on 6 pods ≈ 157/s per pod: {rate / cores / 157:.2f}×)"
        )
    one = _run(res, "create", 1)
    if one:
        p50 = one["fellesplan"]["p50_ms"]
        lines.append(
            f"- {db} create at 1 client: p50 {p50:.1f} ms per write (Medplum target ≈ 50 ms, "
            f"HAPI ≈ 105 ms per create)"
        )
    return lines
