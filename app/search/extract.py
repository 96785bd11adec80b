"""Turn a resource into index rows, one list per index table (no SQL here).

Value rules per type follow https://hl7.org/fhir/R4/search.html#ptypes.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from app.search.fhirpath import compile_expression
from app.search.normalize import MAX_DT, MIN_DT, date_range, norm_string
from app.search.refs import parse_reference
from app.search.registry import SearchParamDef, component_type, registry

log = logging.getLogger("fellesplan.search")
Row = dict[str, Any]
Rows = dict[str, list[Row]]

_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


def _str(node: dict[str, Any], key: str) -> str | None:
    """A string element's value, or None when absent or not a string."""
    v = node.get(key)
    return v if isinstance(v, str) else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects in a repeating (or single) element."""
    items = value if isinstance(value, list) else [value]
    return [x for x in items if isinstance(x, dict)]


def _num(value: Any) -> float | None:
    """A JSON number as float (bool and non-finite excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    f = float(value)
    return f if f == f and abs(f) != float("inf") else None


def _scalar(value: Any) -> str | None:
    """A primitive as its search text (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value) if _num(value) is not None else None


def tokens(node: Any) -> Iterator[tuple[str | None, str | None, str | None]]:
    """(system, code, display text) triples of a token-typed node."""
    if not isinstance(node, dict):
        if (code := _scalar(node)) is not None:
            yield None, code, None
    elif "coding" in node or ("text" in node and "value" not in node and "code" not in node):
        for c in _dicts(node.get("coding", [])):
            yield _str(c, "system"), _str(c, "code"), _str(c, "display")
        if (text := _str(node, "text")) is not None:
            yield None, None, text
    elif "code" in node:  # Coding (or a Quantity's code)
        yield _str(node, "system"), _str(node, "code"), _str(node, "display")
    elif (value := _scalar(node.get("value"))) is not None:  # Identifier or ContactPoint
        kind = node.get("type")
        yield _str(node, "system"), value, _str(kind, "text") if isinstance(kind, dict) else None


def _token_rows(p: SearchParamDef, values: list[Any]) -> Iterator[tuple[str, Row]]:
    """Token rows, plus `:of-type` rows for typed Identifiers."""
    for node in values:
        for system, code, text in tokens(node):
            if system is None and isinstance(node, str):
                system = p.code_system
            yield "token", {"param": p.code, "system": system, "value": code,
                            "text": norm_string(text) if text else None}
        if not isinstance(node, dict) or not isinstance(node.get("type"), dict):
            continue
        value = _scalar(node.get("value"))
        if value is None or node.get("system") in _CONTACT_SYSTEMS:
            continue
        for c in _dicts(node["type"].get("coding", [])):
            yield "token", {"param": p.code + ":of-type",
                            "system": f"{_str(c, 'system') or ''}|{_str(c, 'code') or ''}",
                            "value": value, "text": None}


def strings(node: Any) -> Iterator[str]:
    """The searchable strings of a node (HumanName and Address give each part)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        keys = _NAME_PARTS if ("family" in node or "given" in node) else _ADDRESS_PARTS
        for k in keys:
            v = node.get(k)
            for s in v if isinstance(v, list) else [v]:
                if isinstance(s, str):
                    yield s


def dates(node: Any) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Ranges of a date, dateTime, instant, Period or Timing."""
    if isinstance(node, str):
        if r := date_range(node):
            yield r
    elif isinstance(node, dict):
        start, end = _str(node, "start"), _str(node, "end")
        if start is not None or end is not None:
            lo = date_range(start) if start else None
            hi = date_range(end) if end else None
            yield (lo[0] if lo else MIN_DT), (hi[1] if hi else MAX_DT)
        events = node.get("event")
        for ev in events if isinstance(events, list) else []:
            yield from dates(ev)
        repeat = node.get("repeat")
        if isinstance(repeat, dict) and isinstance(repeat.get("boundsPeriod"), dict):
            yield from dates(repeat["boundsPeriod"])


def quantities(node: Any) -> Iterator[tuple[str | None, str | None, float | None, float | None]]:
    """(system, code, lo, hi) of a number, Quantity or Range."""
    if not isinstance(node, dict):
        if (v := _num(node)) is not None:
            yield None, None, v, v
    elif "value" in node:
        if (v := _num(node["value"])) is not None:
            yield _str(node, "system"), _str(node, "code") or _str(node, "unit"), v, v
    elif "low" in node or "high" in node:
        low = node["low"] if isinstance(node.get("low"), dict) else {}
        high = node["high"] if isinstance(node.get("high"), dict) else {}
        unit = (_str(low, "code") or _str(high, "code") or _str(low, "unit")
                or _str(high, "unit"))
        lo, hi = _num(low.get("value")), _num(high.get("value"))
        if lo is not None or hi is not None:
            yield _str(low, "system") or _str(high, "system"), unit, lo, hi


def _reference_rows(p: SearchParamDef, values: list[Any]) -> Iterator[tuple[str, Row]]:
    """Reference rows (local target or URL) and `:identifier` token rows."""
    for node in values:
        ref = node.get("reference") if isinstance(node, dict) else node
        if isinstance(ref, str) and ref and not ref.startswith("#"):
            t, i, url = parse_reference(ref)
            yield "reference", {"param": p.code, "target_type": t, "target_id": i,
                                "url": url[:512] if url else None}
        ident = node.get("identifier") if isinstance(node, dict) else None
        if isinstance(ident, dict) and (value := _scalar(ident.get("value"))) is not None:
            yield "token", {"param": p.code + ":identifier", "system": _str(ident, "system"),
                            "value": value, "text": None}


@lru_cache(maxsize=256)
def _relative(expr: str) -> Callable[[dict[str, Any]], list[Any]]:
    """A component expression compiled once (relative to the composite's element)."""
    return compile_expression(expr, None)


def _composite_rows(p: SearchParamDef, values: list[Any]) -> Iterator[tuple[str, Row]]:
    """Composite rows: token first component; token or quantity second component."""
    (_, ex1), (url2, ex2) = p.components[:2]
    f1, f2 = _relative(ex1), _relative(ex2)
    second_is_token = component_type(url2) == "token"
    for node in values:
        for s1, c1, _ in (t for v in f1(node) for t in tokens(v)):
            for v2 in f2(node):
                if second_is_token:
                    for s2, c2, _ in tokens(v2):
                        yield "composite", {"param": p.code, "c1_system": s1, "c1_code": c1,
                                            "c2_system": s2, "c2_code": c2,
                                            "c2_lo": None, "c2_hi": None}
                for s2, c2, lo, hi in ([] if second_is_token else quantities(v2)):
                    yield "composite", {"param": p.code, "c1_system": s1, "c1_code": c1,
                                        "c2_system": s2, "c2_code": c2, "c2_lo": lo, "c2_hi": hi}


def _simple(table: str, fn: Callable[[Any], Iterator[Any]], cols: tuple[str, ...]) -> Callable[
    [SearchParamDef, list[Any]], Iterator[tuple[str, Row]]
]:
    """Row builder for tables whose rows are tuples from one value function."""
    def build(p: SearchParamDef, values: list[Any]) -> Iterator[tuple[str, Row]]:
        for node in values:
            for tup in fn(node):
                yield table, {"param": p.code, **dict(zip(cols, tup, strict=True))}

    return build


def _string_vals(node: Any) -> Iterator[tuple[str, str]]:
    """(norm, exact) of each string part."""
    for s in strings(node):
        yield norm_string(s), unicodedata.normalize("NFC", s)  # :exact compares NFC forms


def _uri_vals(node: Any) -> Iterator[tuple[str]]:
    """A uri/url/canonical value."""
    if isinstance(node, str):
        yield (node,)


_BUILDERS: dict[str, Callable[[SearchParamDef, list[Any]], Iterator[tuple[str, Row]]]] = {
    "token": _token_rows,
    "string": _simple("string", _string_vals, ("norm", "exact")),
    "date": _simple("date", dates, ("lo", "hi")),
    "reference": _reference_rows,
    "uri": _simple("uri", _uri_vals, ("value",)),
    "number": _simple("quantity", quantities, ("system", "code", "lo", "hi")),
    "quantity": _simple("quantity", quantities, ("system", "code", "lo", "hi")),
    "composite": _composite_rows,
}


def extract_rows(res_type: str, resource: dict[str, Any]) -> Rows:
    """All index rows of one resource, keyed by table kind, de-duplicated."""
    out: Rows = {}
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    for p in registry().params(res_type):
        if p.code in ("_id", "_lastUpdated"):
            continue  # answered from the resources table itself
        builder = _BUILDERS.get(p.type)
        if builder is None:
            continue
        try:
            built = list(builder(p, p.extract(resource)))
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError):
            # Validated content never gets here; a shape we did not foresee must not fail
            # the write, but it is logged so the missing index rows are noticed.
            log.warning("search: cannot index %s.%s", res_type, p.code, exc_info=True)
            continue
        for table, row in built:
            _fit(row)
            key = (table, tuple(row.values()))
            if key not in seen:
                seen.add(key)
                out.setdefault(table, []).append(row)
    return out


# Column widths of the index tables: longer values are cut so PostgreSQL never refuses a write.
_WIDTH = {"system": 512, "value": 512, "url": 512, "code": 128, "c1_system": 512,
          "c1_code": 512, "c2_system": 512, "c2_code": 512, "param": 128}


def _fit(row: Row) -> None:
    """Truncate string fields to their column widths (in place)."""
    for key, v in row.items():
        if isinstance(v, str) and len(v) > 128:  # the narrowest width: most values pass here
            width = _WIDTH.get(key)
            if width is not None and len(v) > width:
                row[key] = v[:width]
