"""Prefix semantics for date, number and quantity ranges (https://hl7.org/fhir/R4/search.html#prefix).

A stored value is a range [lo, hi]; so is a search value (its precision). For dates:
eq = the target lies within the search range; gt/lt = the target extends beyond it;
ge/le = gt/lt or eq; sa/eb = entirely after/before; ap = overlaps the range widened by
10 % of its distance from now.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, func, not_, or_

from app.search.values import DateValue, NumberValue

_BIG = 1e308


def date_condition(lo: Any, hi: Any, v: DateValue) -> ColumnElement[bool]:
    """Stored [lo, hi] against a prefixed search date."""
    inside = and_(lo >= v.lo, hi <= v.hi)
    p = v.prefix
    if p == "eq":
        return inside
    if p == "ne":
        return not_(inside)
    if p == "gt":
        return cast(ColumnElement[bool], hi > v.hi)
    if p == "lt":
        return cast(ColumnElement[bool], lo < v.lo)
    if p == "ge":
        return or_(hi > v.hi, inside)
    if p == "le":
        return or_(lo < v.lo, inside)
    if p == "sa":
        return cast(ColumnElement[bool], lo > v.hi)
    if p == "eb":
        return cast(ColumnElement[bool], hi < v.lo)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    gap = max(abs(now - v.lo), abs(now - v.hi)) * 0.1
    return and_(lo <= v.hi + gap, hi >= v.lo - gap)


def number_condition(
    t: Any, v: NumberValue, *, lo: Any = None, hi: Any = None, system: Any = None,
    code: Any = None,
) -> ColumnElement[bool]:
    """Stored [lo, hi] (None = unbounded) against a prefixed number or quantity."""
    lo = func.coalesce(t.lo if lo is None else lo, -_BIG)
    hi = func.coalesce(t.hi if hi is None else hi, _BIG)
    inside = and_(lo >= v.lo, hi < v.hi)
    p, x = v.prefix, v.value
    conds = {
        "eq": inside, "ne": not_(inside), "gt": hi > x, "lt": lo < x, "ge": hi >= x,
        "le": lo <= x, "sa": lo > x, "eb": hi < x,
        "ap": and_(lo <= x + abs(x) * 0.1, hi >= x - abs(x) * 0.1),
    }
    cond = conds[p]
    extra = []
    if v.system is not None:
        extra.append((t.system if system is None else system) == v.system)
    if v.code is not None:
        extra.append((t.code if code is None else code) == v.code)
    return and_(cond, *extra) if extra else cond
