"""Compile the FHIRPath subset used by search parameter expressions into Python closures.

Search extraction runs on every write, so expressions are compiled once into plain functions
over the JSON dict; only expressions outside the subset fall back to fhirpathpy.
Subset: paths, `|`, `as`/`ofType`/`as()`, `where(resolve() is T)`, `where(a='b')`,
`where(hasExtension('u'))`, `extension('u')`. See https://hl7.org/fhirpath/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Item = tuple[Any, str | None]  # (node, choice-type suffix when reached through a [x] element)
Step = Callable[[list[Item]], list[Item]]
Extractor = Callable[[dict[str, Any]], list[Any]]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CALL = re.compile(r"^([A-Za-z]+)\((.*)\)$", re.S)
_WHERE_EQ = re.compile(r"^([A-Za-z_]+)\s*=\s*'([^']*)'$")
_WHERE_RESOLVE = re.compile(r"^resolve\(\)\s+is\s+([A-Za-z]+)$")
_HAS_EXT = re.compile(r"^hasExtension\('([^']+)'\)$")
_STR_ARG = re.compile(r"^'([^']*)'$")


class Unsupported(ValueError):
    """The expression is outside the compiled subset."""


def split_top(expr: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and quotes."""
    parts: list[str] = []
    depth, quote, cur = 0, False, list[str]()
    i = 0
    while i < len(expr):
        c = expr[i]
        if c == "'":
            quote = not quote
        elif not quote and c == "(":
            depth += 1
        elif not quote and c == ")":
            depth -= 1
        if not quote and depth == 0 and expr.startswith(sep, i):
            parts.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _strip_parens(expr: str) -> str:
    """Remove parentheses that wrap the whole expression."""
    while expr.startswith("(") and expr.endswith(")") and len(split_top(expr[1:-1], "|")) >= 1:
        inner = expr[1:-1]
        depth = 0
        for c in inner:
            depth += c == "("
            depth -= c == ")"
            if depth < 0:
                return expr
        expr = inner.strip()
    return expr


def ref_type(node: Any) -> str | None:
    """The resource type a Reference points at (from `reference` or `type`)."""
    if not isinstance(node, dict):
        return None
    ref = node.get("reference")
    if isinstance(ref, str) and "/" in ref and not ref.startswith("#"):
        parts = ref.split("/_history/")[0].rstrip("/").split("/")
        return parts[-2] if len(parts) >= 2 else None
    t = node.get("type")
    return t if isinstance(t, str) else None


def _child(name: str) -> Step:
    """Navigate to a child element; a missing name tries choice elements (`deceased[x]`)."""
    n = len(name)

    def step(items: list[Item]) -> list[Item]:
        out: list[Item] = []
        for node, _ in items:
            if not isinstance(node, dict):
                continue
            val = node.get(name)
            if val is not None:
                out.extend((v, None) for v in val) if isinstance(val, list) else out.append(
                    (val, None)
                )
                continue
            for key, v in node.items():
                if len(key) > n and key.startswith(name) and key[n].isupper():
                    out.extend((x, key[n:]) for x in (v if isinstance(v, list) else [v]))
        return out

    return step


def _of_type(type_name: str) -> Step:
    """Keep items of a type: choice items by their suffix, others unchanged."""
    want = type_name[0].upper() + type_name[1:]

    def step(items: list[Item]) -> list[Item]:
        return [(v, t) for v, t in items if t is None or t == want]

    return step


def _where(arg: str) -> Step:
    """The `where(...)` forms used by search parameters."""
    if m := _WHERE_RESOLVE.match(arg):
        target = m.group(1)
        return lambda items: [(v, t) for v, t in items if ref_type(v) == target]
    if m := _WHERE_EQ.match(arg):
        key, lit = m.groups()
        return lambda items: [
            (v, t) for v, t in items if isinstance(v, dict) and v.get(key) == lit
        ]
    if m := _HAS_EXT.match(arg):
        url = m.group(1)
        return lambda items: [
            (v, t) for v, t in items
            if isinstance(v, dict) and any(e.get("url") == url for e in v.get("extension", []))
        ]
    raise Unsupported(f"where({arg})")


def _extension(url: str) -> Step:
    """`extension('url')`: the matching extensions."""
    def step(items: list[Item]) -> list[Item]:
        return [
            (e, None) for v, _ in items if isinstance(v, dict)
            for e in v.get("extension", []) if isinstance(e, dict) and e.get("url") == url
        ]

    return step


def _segment(seg: str) -> Step:
    """Compile one path segment."""
    if _IDENT.match(seg):
        return _child(seg)
    m = _CALL.match(seg)
    if not m:
        raise Unsupported(seg)
    fn, arg = m.group(1), m.group(2).strip()
    if fn in ("as", "ofType") and _IDENT.match(arg):
        return _of_type(arg)
    if fn == "where":
        return _where(arg)
    if fn == "extension" and (s := _STR_ARG.match(arg)):
        return _extension(s.group(1))
    raise Unsupported(seg)


def _compile_path(expr: str, res_type: str | None) -> list[Step] | None:
    """Compile one union member; None when it is rooted at another resource type."""
    expr = _strip_parens(expr)
    as_parts = split_top(expr, " as ")
    if len(as_parts) == 2 and _IDENT.match(as_parts[1]):
        inner = _compile_path(as_parts[0], res_type)
        return None if inner is None else [*inner, _of_type(as_parts[1])]
    if len(as_parts) > 2:
        raise Unsupported(expr)
    segs = split_top(expr, ".")
    first = segs[0]
    if first[:1].isupper() and _IDENT.match(first):
        if res_type is not None and first not in (res_type, "Resource", "DomainResource"):
            return None
        segs = segs[1:]
    return [_segment(s) for s in segs]


def compile_expression(expr: str, res_type: str | None) -> Extractor:
    """Compile an expression for one resource type (or relative to a node when None)."""
    paths = [p for p in (_compile_path(part, res_type) for part in split_top(expr, "|")) if p]

    def run(node: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for steps in paths:
            items: list[Item] = [(node, None)]
            for step in steps:
                items = step(items)
                if not items:
                    break
            out.extend(v for v, _ in items)
        return out

    return run


def compile_or_fallback(expr: str, res_type: str | None) -> Extractor:
    """Compile the subset, else wrap fhirpathpy (slow, but correct for the rare cases)."""
    try:
        return compile_expression(expr, res_type)
    except Unsupported:
        import fhirpathpy
        from fhirpathpy.models import models

        fn = fhirpathpy.compile(expr, models["r4"])  # the model knows choice types
        fn({"resourceType": res_type or "Resource"}, None)  # fails now if it cannot evaluate

        def run(node: dict[str, Any]) -> list[Any]:
            try:
                return list(fn(node, None))
            except Exception:  # a fallback expression must never fail a write
                return []

        return run
