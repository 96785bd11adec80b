"""Property test: index-backed search agrees with a naive in-Python evaluator on random data.

The naive evaluator reads the resources themselves and implements the spec's rules directly
(string folding, date precision ranges, prefixes, token system|code), independently of the
extraction and SQL code. Ranges are compared in local wall-clock time, which orders the same
as UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from tests.search.factories import FNR, store
from tests.search.helpers import bundle

NAMES = ["Ås", "Aas", "Øvre", "Ovre", "Ærø", "Berg", "Bjørk", "bjork", "Li", "Lie", "Åsen"]
SYSTEMS = [FNR, "urn:oid:2.16.578.1.12.4.1.4.2", None]
PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"]


def fold(s: str) -> str:
    """Case and accent folding written out: ø→o, æ→ae, å→a, then drop combining marks."""
    s = s.lower().replace("ø", "o").replace("æ", "ae")
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def span(value: str) -> tuple[dt.datetime, dt.datetime]:
    """The implied range of YYYY, YYYY-MM or YYYY-MM-DD (inclusive, local)."""
    parts = [int(p) for p in value.split("-")]
    y, m, d = parts[0], (parts[1] if len(parts) > 1 else None), (
        parts[2] if len(parts) > 2 else None)
    lo = dt.datetime(y, m or 1, d or 1)
    if d is not None:
        hi = lo + dt.timedelta(days=1)
    elif m is not None:
        hi = dt.datetime(y, m, calendar.monthrange(y, m)[1]) + dt.timedelta(days=1)
    else:
        hi = dt.datetime(y + 1, 1, 1)
    return lo, hi - dt.timedelta(microseconds=1)


def date_ok(stored: str | None, prefix: str, query: str) -> bool:
    """https://hl7.org/fhir/R4/search.html#prefix applied to ranges."""
    if stored is None:
        return prefix == "ne" and False
    lo, hi = span(stored)
    qlo, qhi = span(query)
    inside = lo >= qlo and hi <= qhi
    return {
        "": inside, "eq": inside, "ne": not inside, "gt": hi > qhi, "lt": lo < qlo,
        "ge": hi > qhi or inside, "le": lo < qlo or inside, "sa": lo > qhi, "eb": hi < qlo,
    }[prefix]


def naive(p: dict[str, Any], q: dict[str, Any]) -> bool:
    """Does patient `p` match query `q` (all criteria ANDed)?"""
    family = p["name"][0]["family"]
    if "family" in q:
        mod, val = q["family"]
        ok = {"": fold(family).startswith(fold(val)), "exact": family == val,
              "contains": fold(val) in fold(family)}[mod]
        if not ok:
            return False
    if "birthdate" in q:
        prefix, val = q["birthdate"]
        if p.get("birthDate") is None or not date_ok(p["birthDate"], prefix, val):
            return False
    if "identifier" in q:
        system, value = q["identifier"]
        idents = p.get("identifier", [])
        if not any(i["value"] == value and (system is None or i.get("system") == system)
                   for i in idents):
            return False
    return True


# Values on and around period boundaries, where prefixes differ, mixed with arbitrary ones.
BOUNDARY = ["2020", "2021", "2020-01", "2020-06", "2020-12", "2021-01", "2020-01-01",
            "2020-06-01", "2020-06-15", "2020-06-30", "2020-12-31", "2021-01-01"]
dates = st.one_of(st.sampled_from(BOUNDARY), st.builds(
    lambda y, m, d, prec: (f"{y}" if prec == 0 else f"{y}-{m:02d}" if prec == 1
                           else f"{y}-{m:02d}-{d:02d}"),
    st.integers(2019, 2021), st.integers(1, 12), st.integers(1, 28), st.integers(0, 2),
))
patients = st.lists(st.fixed_dictionaries({
    "family": st.sampled_from(NAMES),
    "birth": st.one_of(st.none(), dates),
    "system": st.sampled_from(SYSTEMS),
    "value": st.sampled_from(["1", "2", "3"]),
}), min_size=1, max_size=8)
queries = st.fixed_dictionaries({}, optional={
    "family": st.tuples(st.sampled_from(["", "exact", "contains"]),
                        st.sampled_from([*NAMES, "b", "ov", "A", "ØV", "e"])),
    "birthdate": st.tuples(st.sampled_from(PREFIXES), dates),
    "identifier": st.tuples(st.sampled_from(SYSTEMS), st.sampled_from(["1", "2", "3"])),
})


def to_params(q: dict[str, Any]) -> list[tuple[str, str]]:
    """The query as URL parameters."""
    out = [("_count", "100")]
    if "family" in q:
        mod, val = q["family"]
        out.append((f"family:{mod}" if mod else "family", val))
    if "birthdate" in q:
        out.append(("birthdate", q["birthdate"][0] + q["birthdate"][1]))
    if "identifier" in q:
        system, value = q["identifier"]
        out.append(("identifier", f"{system}|{value}" if system else value))
    return out


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=patients, query=queries)
async def test_search_agrees_with_naive_evaluator(
        session: AsyncSession, data: list[dict[str, Any]], query: dict[str, Any]) -> None:
    resources = []
    for i, d in enumerate(data):
        res: dict[str, Any] = {"resourceType": "Patient", "id": f"h{i}",
                               "name": [{"family": d["family"]}],
                               "identifier": [{"value": d["value"]} if d["system"] is None
                                              else {"system": d["system"], "value": d["value"]}]}
        if d["birth"]:
            res["birthDate"] = d["birth"]
        resources.append(res)
    nested = await session.begin_nested()
    try:
        for res in resources:
            await store(session, res)
        b = await bundle(session, "Patient", to_params(query))
        got = {e["resource"]["id"] for e in b.get("entry", []) if e["search"]["mode"] == "match"}
        assert got == {r["id"] for r in resources if naive(r, query)}, to_params(query)
        assert b["total"] == len(got)
    finally:
        await nested.rollback()


async def test_date_prefix_grid_agrees_with_naive_evaluator(session: AsyncSession) -> None:
    """Every prefix × every boundary value, against every stored boundary value."""
    stored = {f"g{i}": v for i, v in enumerate(BOUNDARY)}
    for rid, birth in stored.items():
        await store(session, {"resourceType": "Patient", "id": rid, "birthDate": birth,
                              "name": [{"family": "Grid"}]})
    failures = []
    for prefix in PREFIXES:
        for value in BOUNDARY:
            b = await bundle(session, "Patient", [("birthdate", prefix + value),
                                                  ("_count", "100")])
            got = {e["resource"]["id"] for e in b.get("entry", [])}
            want = {rid for rid, v in stored.items() if date_ok(v, prefix, value)}
            if got != want:
                failures.append(f"birthdate={prefix}{value}: {sorted(got)} != {sorted(want)}")
    assert not failures, "\n".join(failures)


sorts = st.lists(st.tuples(st.sampled_from(["family", "birthdate", "_id", "_lastUpdated"]),
                           st.booleans()),
                 min_size=1, max_size=2, unique_by=lambda t: t[0])


def sort_key(res: dict[str, Any], pk: int, sort: list[tuple[str, bool]]) -> tuple[Any, ...]:
    """Naive order: per key (missing last, value asc/desc), then insertion order."""
    out: list[Any] = []
    for code, desc in sort:
        if code == "family":
            v: Any = fold(res["name"][0]["family"])
        elif code == "_lastUpdated":
            v = 0.0  # every row is stored with the same lastUpdated: ties only
        elif code == "_id":
            v = res["id"]
        else:
            b = res.get("birthDate")
            v = None if b is None else span(b)[1 if desc else 0].timestamp()
        if v is None:
            out += [1, 0]
        elif isinstance(v, str):
            out += [0, (*(-ord(c) for c in v), 1) if desc else tuple(ord(c) for c in v)]
        else:
            out += [0, -v if desc else v]
    return (*out, -pk if sort[-1][1] else pk)  # ties follow the last key's direction


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=patients, sort=sorts, count=st.integers(1, 4))
async def test_paging_walk_matches_naive_order(
        session: AsyncSession, data: list[dict[str, Any]], sort: list[tuple[str, bool]],
        count: int) -> None:
    resources = [{"resourceType": "Patient", "id": f"s{i}", "name": [{"family": d["family"]}],
                  **({"birthDate": d["birth"]} if d["birth"] else {})}
                 for i, d in enumerate(data)]
    nested = await session.begin_nested()
    try:
        for res in resources:
            await store(session, res)
        param = ",".join(("-" if desc else "") + code for code, desc in sort)
        b = await bundle(session, "Patient", [("_sort", param), ("_count", str(count))])
        walked = [e["resource"]["id"] for e in b.get("entry", [])]
        while (nxt := next((lk["url"] for lk in b["link"] if lk["relation"] == "next"), None)):
            from urllib.parse import parse_qsl, urlsplit

            b = await bundle(session, "Patient", parse_qsl(urlsplit(nxt).query))
            walked += [e["resource"]["id"] for e in b.get("entry", [])]
        want = [r["id"] for pk, r in sorted(enumerate(resources),
                                            key=lambda t: sort_key(t[1], t[0], sort))]
        assert walked == want, param
    finally:
        await nested.rollback()


graphs = st.tuples(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=5),  # patients' family names
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["active", "draft", "revoked"])),
             max_size=8),  # care plans: (subject index, status)
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(graph=graphs, name=st.sampled_from([*NAMES, "b", "A"]),
       status=st.sampled_from(["active", "draft", "revoked"]))
async def test_chain_and_has_agree_with_naive_evaluator(
        session: AsyncSession, graph: tuple[list[str], list[tuple[int, str]]], name: str,
        status: str) -> None:
    families, plans = graph
    pats = {f"cp{i}": fam for i, fam in enumerate(families)}
    cps = [(f"plan{j}", f"cp{k % len(families)}", st_) for j, (k, st_) in enumerate(plans)]
    nested = await session.begin_nested()
    try:
        for pid, fam in pats.items():
            await store(session, {"resourceType": "Patient", "id": pid,
                                  "name": [{"family": fam}]})
        for cid, subj, st_ in cps:
            await store(session, {"resourceType": "CarePlan", "id": cid, "status": st_,
                                  "intent": "plan", "subject": {"reference": f"Patient/{subj}"}})
        chain = await bundle(session, "CarePlan", [("subject:Patient.family", name),
                                                   ("_count", "100")])
        assert {e["resource"]["id"] for e in chain.get("entry", [])} == {
            cid for cid, subj, _ in cps if fold(pats[subj]).startswith(fold(name))}
        has = await bundle(session, "Patient", [("_has:CarePlan:subject:status", status),
                                                ("_count", "100")])
        assert {e["resource"]["id"] for e in has.get("entry", [])} == {
            subj for _, subj, st_ in cps if st_ == status}
    finally:
        await nested.rollback()
