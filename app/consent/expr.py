"""A tiny boolean language over a resource's facets, compiled from Consent provisions.

The same expression is evaluated in Python (will-see, redaction, history) and compiled to SQL
(can-see, app/repository/access.py), so both phases agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

HEADER = "#header"  # a CarePlan's row-level part (what is left when sections are hidden)
WHOLE = "#whole"  # the whole resource, unredacted
UNSECTIONED = "#none"  # a CarePlan activity without a section or domain code


@dataclass(frozen=True, slots=True)
class Facets:
    """What a rule can test about one resource (or one part of a CarePlan)."""

    res_id: str
    kind: str | None = None  # plan kind of a CarePlan: kriseplan | individuell-plan | plan
    labels: frozenset[tuple[str, str]] = frozenset()
    part: str | tuple[str, str] = HEADER  # HEADER, WHOLE, UNSECTIONED or (system, code)


@dataclass(frozen=True, slots=True)
class Const:
    """True or False."""

    value: bool


@dataclass(frozen=True, slots=True)
class Kind:
    """The CarePlan's plan kind is one of `kinds`."""

    kinds: frozenset[str]


@dataclass(frozen=True, slots=True)
class Ids:
    """The resource id is one of `ids` (Consent provision.data)."""

    ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Label:
    """The resource carries one of these meta.security labels (system, code)."""

    labels: frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Section:
    """The part is one of `codes`; the row-level header part counts as `header`."""

    codes: frozenset[tuple[str, str]]
    header: bool


@dataclass(frozen=True, slots=True)
class And:
    """All of."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    item: Expr


Expr = Union[Const, Kind, Ids, Label, Section, And, Or, Not]  # noqa: UP007
TRUE = Const(True)
FALSE = Const(False)


def and_(*items: Expr) -> Expr:
    """Conjunction with constant folding."""
    out: list[Expr] = []
    for item in items:
        if item == FALSE:
            return FALSE
        if item != TRUE and item not in out:
            out.append(item)
    return TRUE if not out else out[0] if len(out) == 1 else And(tuple(out))


def or_(*items: Expr) -> Expr:
    """Disjunction with constant folding."""
    out: list[Expr] = []
    for item in items:
        if item == TRUE:
            return TRUE
        if item != FALSE and item not in out:
            out.append(item)
    return FALSE if not out else out[0] if len(out) == 1 else Or(tuple(out))


def not_(item: Expr) -> Expr:
    """Negation with constant folding."""
    if isinstance(item, Const):
        return Const(not item.value)
    if isinstance(item, Not):
        return item.item
    return Not(item)


def evaluate(expr: Expr, f: Facets) -> bool:
    """The value of `expr` for one resource or part."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Kind):
        return f.kind in expr.kinds
    if isinstance(expr, Ids):
        return f.res_id in expr.ids
    if isinstance(expr, Label):
        return bool(expr.labels & f.labels)
    if isinstance(expr, Section):
        return _section(expr, f)
    if isinstance(expr, And):
        return all(evaluate(i, f) for i in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(i, f) for i in expr.items)
    return not evaluate(expr.item, f)


def _section(expr: Section, f: Facets) -> bool:
    """A Section leaf: header parts take the leaf's header value; WHOLE is never a section."""
    if f.part == HEADER:
        return expr.header
    if isinstance(f.part, tuple):
        return f.part in expr.codes
    return False


def header_only(expr: Expr) -> Expr:
    """The expression with Section leaves fixed to their header value (what SQL can test)."""
    if isinstance(expr, Section):
        return Const(expr.header)
    if isinstance(expr, And):
        return and_(*(header_only(i) for i in expr.items))
    if isinstance(expr, Or):
        return or_(*(header_only(i) for i in expr.items))
    if isinstance(expr, Not):
        return not_(header_only(expr.item))
    return expr



def has_sections(expr: Expr) -> bool:
    """True when the expression depends on CarePlan sections (a reader may get a redacted view)."""
    if isinstance(expr, Section):
        return True
    if isinstance(expr, And | Or):
        return any(has_sections(i) for i in expr.items)
    if isinstance(expr, Not):
        return has_sections(expr.item)
    return False
