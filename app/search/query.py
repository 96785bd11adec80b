"""Parse a search request into criteria trees and result controls (no SQL here).

Grammar: https://hl7.org/fhir/R4/search.html (modifiers, chaining, _has, result parameters).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from app.fhir.errors import BadRequest
from app.fhir.models import SERVED
from app.search import values as v
from app.search.registry import (
    RESULT_PARAMS,
    UNSUPPORTED,
    SearchParamDef,
    component_type,
    registry,
)

MAX_OR_VALUES = 500  # per parameter; keeps bind parameters far below database limits
# Per request: each value binds a few parameters; SQLite and asyncpg allow 32,766/32,767.
MAX_VALUES = 2000
MAX_CRITERIA = 60
MAX_CHAIN_DEPTH = 4
MAX_HAS_DEPTH = 3

MODIFIERS: dict[str, frozenset[str]] = {
    "token": frozenset({"missing", "not", "text", "of-type", "in", "not-in"}),
    "string": frozenset({"missing", "exact", "contains"}),
    "date": frozenset({"missing"}),
    "reference": frozenset({"missing", "identifier"}),
    "uri": frozenset({"missing", "below", "above"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "composite": frozenset({"missing"}),
}


# _id and _lastUpdated are answered from the resources table: only these modifiers apply.
_SPECIAL_MODIFIERS: dict[str, frozenset[str | None]] = {
    "_id": frozenset({None, "not"}), "_lastUpdated": frozenset({None}),
}


@dataclass(frozen=True, slots=True)
class Leaf:
    """One parameter occurrence on one type; its values are ORed."""

    name: str
    param: SearchParamDef
    modifier: str | None
    values: tuple[Any, ...]
    negate: bool = False
    missing: bool | None = None


@dataclass(frozen=True, slots=True)
class Chain:
    """`ref[:Type].inner`: the reference points at a resource matching `inner` (per type)."""

    name: str
    param: SearchParamDef
    inner: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Has:
    """`_has:Source:ref:inner`: some Source matching `inner` points here through `ref`."""

    name: str
    source_type: str
    ref_param: SearchParamDef
    inner: Node


Node = Leaf | Chain | Has


@dataclass(slots=True)
class ParsedQuery:
    """Criteria (ANDed) plus what the caller asked about the result."""

    res_type: str | None
    criteria: list[Node] = field(default_factory=list)
    used: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    count: int | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (code, descending)
    include: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    revinclude: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    summary: str | None = None
    elements: list[str] = field(default_factory=list)
    total: str | None = None
    cursor: str | None = None
    types: list[str] = field(default_factory=list)


def _values(name: str, raw: str) -> list[str]:
    """Split OR values on unescaped commas, bounded."""
    vals = [x for x in v.unescape_split(raw, ",")] if raw else [""]
    if len(vals) > MAX_OR_VALUES:
        raise v.bad(name, f"at most {MAX_OR_VALUES} values may be ORed")
    return vals


def _typed(name: str, p: SearchParamDef, modifier: str | None, raw: str) -> Any:
    """Parse one value by the parameter's type and modifier."""
    t = p.type
    if t == "token":
        if modifier == "of-type":
            return v.of_type(name, raw)
        if modifier in ("text",):
            return v.folded(raw)
        if modifier in ("in", "not-in"):
            return raw
        return v.token(name, raw)
    if t == "string":
        return unicodedata.normalize("NFC", raw) if modifier == "exact" else v.folded(raw)
    if t == "date":
        return v.date(name, raw)
    if t in ("number", "quantity"):
        return v.number(name, raw, quantity=t == "quantity")
    if t == "reference":
        return v.token(name, raw) if modifier == "identifier" else v.reference(name, raw, modifier)
    if t == "composite":
        return v.composite(name, raw, component_type(p.components[1][0]))
    return raw  # uri


def _leaf(res_type: str, name: str, code: str, modifier: str | None, raw: str) -> Leaf | None:
    """A plain parameter occurrence; None when the code is unknown on this type."""
    p = registry().get(res_type, code)
    if p is None:
        return None
    if modifier == "missing":
        return Leaf(name, p, modifier, (), missing=v.missing(name, raw))
    if code in _SPECIAL_MODIFIERS and modifier not in _SPECIAL_MODIFIERS[code]:
        raise v.bad(name, f"modifier ':{modifier}' is not supported on {code}")
    if modifier is not None and modifier not in MODIFIERS.get(p.type, frozenset()):
        is_type = p.type == "reference" and modifier in SERVED | set(p.targets)
        if not is_type:
            raise v.bad(name, f"modifier ':{modifier}' is not supported for a {p.type}")
    vals = tuple(_typed(name, p, modifier, x) for x in _values(name, raw))
    if modifier == "text" and any(not x for x in vals):
        raise v.bad(name, "empty ':text'")
    return Leaf(name, p, modifier, vals, negate=modifier in ("not", "not-in"))


def _chain(res_type: str, name: str, head: str, rest: str, raw: str, depth: int) -> Chain:
    """`ref[:Type].rest` on `res_type`."""
    if depth > MAX_CHAIN_DEPTH:
        raise v.bad(name, f"chains may be at most {MAX_CHAIN_DEPTH} levels deep")
    code, _, type_mod = head.partition(":")
    p = registry().get(res_type, code)
    if p is None or p.type != "reference":
        raise v.bad(name, f"'{code}' is not a reference parameter of {res_type}")
    targets = [type_mod] if type_mod else [t for t in p.targets if t in SERVED]
    if type_mod and (type_mod not in SERVED or (p.targets and type_mod not in p.targets)):
        raise v.bad(name, f"'{type_mod}' is not a target of '{code}'")
    inner: list[tuple[str, Node]] = []
    for t in targets:
        node = parse_node(t, rest, raw, depth + 1, strict_unknown=False)
        if node is not None:
            inner.append((t, node))
    if not inner:
        raise v.bad(name, f"unknown chain target: '{rest}' is not a parameter of {targets}")
    return Chain(name, p, tuple(inner))


def _has(res_type: str, name: str, raw: str, depth: int) -> Has:
    """`_has:Type:ref:param` (nested `_has` allowed)."""
    if depth > MAX_HAS_DEPTH:
        raise v.bad(name, f"_has may nest at most {MAX_HAS_DEPTH} levels")
    parts = name.split(":", 3)
    if len(parts) != 4 or not all(parts):
        raise v.bad(name, "use _has:Type:reference:parameter")
    _, source, ref_code, rest = parts
    if source not in SERVED:
        raise v.bad(name, f"'{source}' is not a served type")
    ref = registry().get(source, ref_code)
    if ref is None or ref.type != "reference":
        raise v.bad(name, f"'{ref_code}' is not a reference parameter of {source}")
    if ref.targets and res_type not in ref.targets:
        raise v.bad(name, f"{source}.{ref_code} does not point at {res_type}")
    inner = parse_node(source, rest, raw, depth + 1, strict_unknown=True)
    assert inner is not None
    return Has(name, source, ref, inner)


def parse_node(
    res_type: str, name: str, raw: str, depth: int = 0, *, strict_unknown: bool = False
) -> Node | None:
    """One `name=value` on `res_type`; None for an unknown (ignorable) parameter."""
    if name.startswith("_has:"):
        return _has(res_type, name, raw, depth)
    head, dot, rest = name.partition(".")
    if dot:
        return _chain(res_type, name, head, rest, raw, depth)
    code, _, modifier = head.partition(":")
    leaf = _leaf(res_type, name, code, modifier or None, raw)
    if leaf is None and strict_unknown:
        raise v.bad(name, f"unknown search parameter for {res_type}")
    return leaf


def _inclusion(name: str, raw: str, rev: bool) -> tuple[str, str, str | None, bool]:
    """`Source:param[:Target]` or `*`, with `:iterate` (or R4's `:recurse`)."""
    iterate = name.endswith((":iterate", ":recurse"))
    if raw == "*":
        return "*", "*", None, iterate
    parts = raw.split(":")
    if len(parts) not in (2, 3) or parts[0] not in SERVED:
        raise v.bad(name, f"'{raw}' must be Type:parameter[:TargetType]")
    p = registry().get(parts[0], parts[1]) if parts[1] != "*" else None
    if parts[1] != "*" and (p is None or p.type != "reference"):
        raise v.bad(name, f"'{parts[1]}' is not a reference parameter of {parts[0]}")
    target = parts[2] if len(parts) == 3 else None
    if target is not None and target not in SERVED:
        raise v.bad(name, f"'{target}' is not a served type")
    return parts[0], parts[1], target, iterate


def _int(name: str, raw: str, lo: int) -> int:
    """A non-negative integer result parameter."""
    try:
        n = int(raw)
    except ValueError:
        raise v.bad(name, f"'{raw}' is not an integer") from None
    if n < lo:
        raise v.bad(name, f"must be ≥ {lo}")
    return n


def _sort(q: ParsedQuery, raw: str) -> None:
    """`_sort=a,-b`: keys must be parameters of the searched type."""
    for key in raw.split(","):
        desc = key.startswith("-")
        code = key[1:] if desc else key
        if not code:
            raise v.bad("_sort", "empty sort key")
        if code not in ("_id", "_lastUpdated"):
            p = registry().get(q.res_type, code) if q.res_type else None
            if p is None or p.type in ("composite",):
                raise v.bad("_sort", f"cannot sort by '{code}'")
        q.sort.append((code, desc))


_SUMMARY = frozenset({"true", "false", "count", "text", "data"})
_TOTAL = frozenset({"none", "estimate", "accurate"})


def _result_param(q: ParsedQuery, name: str, raw: str) -> None:
    """Apply one result parameter."""
    base = name.split(":", 1)[0]
    if base == "_count":
        q.count = _int(name, raw, 0)
    elif base == "_sort":
        _sort(q, raw)
    elif base == "_include":
        q.include.append(_inclusion(name, raw, rev=False))
    elif base == "_revinclude":
        q.revinclude.append(_inclusion(name, raw, rev=True))
    elif base == "_summary":
        if raw not in _SUMMARY:
            raise v.bad(name, f"'{raw}' is not one of {sorted(_SUMMARY)}")
        q.summary = None if raw == "false" else raw
    elif base == "_elements":
        q.elements = [e.strip() for e in raw.split(",") if e.strip()]
    elif base == "_total":
        if raw not in _TOTAL:
            raise v.bad(name, f"'{raw}' is not one of {sorted(_TOTAL)}")
        q.total = raw
    elif base == "_cursor":
        q.cursor = raw
    elif base == "_type":
        q.types = [t for t in raw.split(",") if t]
        if bad_types := [t for t in q.types if t not in SERVED]:
            raise v.bad(name, f"unknown type(s) {bad_types}")


def parse_query(
    res_type: str | None, params: list[tuple[str, str]], *, strict: bool = False
) -> ParsedQuery:
    """Parse all parameters; unknown ones are reported (lenient) or rejected (strict)."""
    if res_type is not None and res_type not in SERVED:
        raise BadRequest(f"Unknown resource type '{res_type}'")
    q = ParsedQuery(res_type)
    for name, raw in params:
        _check_text(name, raw)
    for name, raw in params:  # _type first: system search parameters depend on it
        if name == "_type":
            _result_param(q, name, raw)
    for name, raw in params:
        base = name.split(":", 1)[0]
        if base in RESULT_PARAMS:
            if name != "_type":
                _result_param(q, name, raw)
            if base not in ("_cursor", "_format", "_pretty"):
                q.used.append((name, raw))
            continue
        if raw == "" and not name.endswith(":missing"):
            continue  # an empty value is ignored (as HAPI does), not an error
        node = _node_any(q, name, raw)
        if node is None or base in UNSUPPORTED:
            if strict:
                raise v.bad(name, "unknown or unsupported search parameter")
            q.unknown.append(name)
            continue
        q.criteria.append(node)
        q.used.append((name, raw))
    _check_bounds(q)
    return q


def _check_text(name: str, raw: str) -> None:
    """Names and values must be storable text: no NUL, valid Unicode (else 400, not a 500)."""
    for part in (name, raw):
        if "\x00" in part:
            raise v.bad(name[:64].replace("\x00", ""), "contains a NUL character")
        try:
            part.encode("utf-8")
        except UnicodeEncodeError:
            safe = name[:64].encode("utf-8", "replace").decode("utf-8")
            raise v.bad(safe, "is not valid Unicode text") from None


def _check_bounds(q: ParsedQuery) -> None:
    """Refuse requests whose SQL would exceed bind-parameter limits (400, not a 500)."""
    if len(q.criteria) > MAX_CRITERIA:
        raise BadRequest(f"At most {MAX_CRITERIA} search criteria per request.")
    n = sum(len(v.unescape_split(raw, ",")) for name, raw in q.used
            if name.split(":", 1)[0] not in RESULT_PARAMS)
    if n > MAX_VALUES:
        raise BadRequest(f"At most {MAX_VALUES} search values per request (got {n}).")


def _node_any(q: ParsedQuery, name: str, raw: str) -> Node | None:
    """Parse on the searched type, or (system search) check it exists on every type."""
    if q.res_type is not None:
        return parse_node(q.res_type, name, raw)
    code = name.split(":", 1)[0].split(".", 1)[0]
    if code in ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"):
        return parse_node("Patient", name, raw)  # common parameters parse alike on every type
    # A parameter shared by every type named in _type (same code, type and expression shape).
    defs = [registry().get(t, code) for t in q.types]
    if not q.types or any(d is None for d in defs):
        return None
    if len({(d.type, d.url) for d in defs if d is not None}) != 1:
        return None
    return parse_node(q.types[0], name, raw)
