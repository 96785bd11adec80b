"""The FHIRPath functions of the compiled subset (https://hl7.org/fhirpath/N1/#functions)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from app.validation.fastpath import Env, Fn, _distinct, _single, _truth

Impl = Callable[[list[Any], list[Fn], Env], list[Any]]


def _each(values: list[Any], fn: Fn, env: Env) -> list[tuple[Any, list[Any]]]:
    """Evaluate fn once per item, with the item as focus and $this (restored afterwards)."""
    saved = env.get("$this", _UNSET)
    try:
        out = []
        for v in values:
            env["$this"] = v
            out.append((v, fn([v], env)))
        return out
    finally:
        if saved is _UNSET:
            env.pop("$this", None)
        else:
            env["$this"] = saved


_UNSET = object()


def _where(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """where(criteria): the items for which criteria is true."""
    return [v for v, r in _each(values, params[0], env) if r == [True] or _truth(r) is True]


def _select(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """select(projection): the flattened results per item."""
    return [x for _, r in _each(values, params[0], env) for x in r]


def _all(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """all(criteria): true when criteria is true for every item (also when empty)."""
    return [all(_truth(r) is True for _, r in _each(values, params[0], env))]


def _exists(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """exists([criteria]): any item (matching criteria)."""
    return [bool(_where(values, params, env) if params else values)]


def _iif(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """iif(condition, then[, else])."""
    branch = params[1] if _truth(params[0](values, env)) is True else (
        params[2] if len(params) > 2 else None)
    return branch(values, env) if branch else []


def _not(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """not(): boolean negation; empty stays empty."""
    t = _truth(values)
    return [] if t is None else [not t]


def _has_value(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """hasValue(): a single primitive with a value."""
    return [len(values) == 1 and not isinstance(values[0], dict | list)]


def _to_integer(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """toInteger(): integers, booleans and integer strings; anything else is empty."""
    v = _single(values)
    if isinstance(v, bool):
        return [int(v)]
    if isinstance(v, int):
        return [v]
    if isinstance(v, str) and re.fullmatch(r"[+-]?\d+", v):
        return [int(v)]
    return []


def _arg(params: list[Fn], i: int, values: list[Any], env: Env) -> Any:
    """Parameter i evaluated against the input (as FHIRPath does for plain arguments)."""
    return _single(params[i](values, env))


def _string_fn(op: Callable[[str, Any], Any]) -> Impl:
    """A function on a single string input with one argument."""

    def run(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
        s, arg = _single(values), _arg(params, 0, values, env)
        if not isinstance(s, str) or arg is None:
            return []
        return [op(s, arg)]

    return run


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    """A compiled regular expression (patterns come from profiles, never from data)."""
    return re.compile(pattern)


def _substring(values: list[Any], params: list[Fn], env: Env) -> list[Any]:
    """substring(start[, length]); out of range gives empty."""
    s, start = _single(values), _arg(params, 0, values, env)
    if not isinstance(s, str) or not isinstance(start, int) or not 0 <= start < len(s):
        return []
    if len(params) > 1:
        length = _arg(params, 1, values, env)
        return [s[start : start + length]] if isinstance(length, int) else [s[start:]]
    return [s[start:]]


FUNCTIONS: dict[str, Impl] = {
    "where": _where,
    "select": _select,
    "all": _all,
    "exists": _exists,
    "empty": lambda v, p, e: [not v],
    "count": lambda v, p, e: [len(v)],
    "distinct": lambda v, p, e: _distinct(v),
    "isDistinct": lambda v, p, e: [len(_distinct(v)) == len(v)],
    "first": lambda v, p, e: v[:1],
    "last": lambda v, p, e: v[-1:],
    "tail": lambda v, p, e: v[1:],
    "not": _not,
    "iif": _iif,
    "hasValue": _has_value,
    "toInteger": _to_integer,
    "length": lambda v, p, e: [len(s)] if isinstance(s := _single(v), str) else [],
    "startsWith": _string_fn(lambda s, a: s.startswith(a)),
    "endsWith": _string_fn(lambda s, a: s.endswith(a)),
    "contains": _string_fn(lambda s, a: a in s),
    "matches": _string_fn(lambda s, a: _regex(a).search(s) is not None),
    "substring": _substring,
    "allTrue": lambda v, p, e: [all(x is True for x in v)],
    "anyTrue": lambda v, p, e: [any(x is True for x in v)],
}
