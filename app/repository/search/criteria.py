"""Compile parsed criteria into SQL over the index tables (https://hl7.org/fhir/R4/search.html).

Each criterion becomes `resources.pk IN (SELECT res_pk FROM <index> WHERE ...)`, an index range
scan on (res_type, param, value...). Chains and _has nest the same shape.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, false, not_, or_, select, true, union_all
from sqlalchemy.orm import aliased

from app.consent import hooks as consent_hooks
from app.db.index_tables import (
    ReferenceIndex,
    TokenIndex,
    table_for_type,
)
from app.db.tables import ResourceRow
from app.repository.search import visibility
from app.repository.search.dates import date_condition, number_condition
from app.search.query import Chain, Has, Leaf, Node
from app.search.values import CompositeValue, RefValue, TokenValue
from app.search.valuesets import expand
from app.services.context import RequestContext

R = ResourceRow
_MAXCHAR = "\U0010ffff"


def _b(expr: Any) -> ColumnElement[bool]:
    """Type a SQL boolean built from untyped (aliased/ORM) columns."""
    return cast(ColumnElement[bool], expr)


def _prefix(col: Any, prefix: str) -> ColumnElement[bool]:
    """`col` starts with `prefix`, as an index range (column collation is binary/"C")."""
    if not prefix:
        return true()
    return and_(col >= prefix, col < prefix + _MAXCHAR)


def token_match(t: Any, value: TokenValue, sys_col: Any = None, code_col: Any = None) -> Any:
    """One token value against (system, value) columns."""
    sys_col = t.system if sys_col is None else sys_col
    code_col = t.value if code_col is None else code_col
    conds = []
    if value.code is not None:
        conds.append(code_col == value.code)
    if value.system == "":
        conds.append(sys_col.is_(None))
    elif value.system is not None:
        conds.append(sys_col == value.system)
    return and_(*conds)


def _token_values(t: Any, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """OR of token values; plain codes share one IN list (bounded bind count)."""
    plain = [x.code for x in values if x.system is None and x.code is not None]
    rest = [x for x in values if not (x.system is None and x.code is not None)]
    conds: list[Any] = [t.value.in_(plain)] if plain else []
    conds += [token_match(t, x) for x in rest]
    return or_(*conds)


def _leaf_condition(leaf: Leaf, t: Any) -> ColumnElement[bool]:
    """The WHERE part for the values of one leaf on its index table `t`."""
    p, mod, vals = leaf.param, leaf.modifier, leaf.values
    if p.type == "token":
        if mod == "text":
            return or_(*(_prefix(t.text, x) for x in vals))
        if mod in ("in", "not-in"):
            return or_(false(), *(_in_valueset(t, leaf.name, url) for url in vals))
        return _token_values(t, vals)
    if p.type == "string":
        if mod == "exact":
            return _b(t.exact.in_(list(vals)))
        if mod == "contains":
            return or_(*(t.norm.contains(x, autoescape=True) for x in vals))
        return or_(*(_prefix(t.norm, x) for x in vals))
    if p.type == "date":
        return or_(*(date_condition(t.lo, t.hi, x) for x in vals))
    if p.type in ("number", "quantity"):
        return or_(*(number_condition(t, x) for x in vals))
    if p.type == "uri":
        return or_(*(_uri(t, mod, x) for x in vals))
    if p.type == "composite":
        return or_(*(_composite(t, x) for x in vals))
    return or_(*(_ref(t, leaf, x) for x in vals))


def _in_valueset(t: Any, name: str, url: str) -> ColumnElement[bool]:
    """Codes of a held ValueSet, one IN list per code system (bounded by expand())."""
    by_system: dict[str, list[str]] = {}
    for system, code in expand(name, url):
        by_system.setdefault(system, []).append(code)
    return or_(false(), *(and_(t.system == s, t.value.in_(codes))
                          for s, codes in by_system.items()))


def _uri(t: Any, mod: str | None, value: str) -> ColumnElement[bool]:
    """uri equality, :below (prefix) or :above (value is a prefix of the search URI)."""
    if mod == "below":
        return _prefix(t.value, value)
    if mod == "above":
        parts = value.split("/")
        return _b(t.value.in_(["/".join(parts[:i]) for i in range(3, len(parts) + 1)]))
    return _b(t.value == value)


def _composite(t: Any, value: CompositeValue) -> ColumnElement[bool]:
    """Both components on the same row (the same repetition of the element)."""
    first = token_match(t, value.first, t.c1_system, t.c1_code)
    second = value.second
    if isinstance(second, TokenValue):
        return and_(first, token_match(t, second, t.c2_system, t.c2_code))
    return and_(first, number_condition(t, second, lo=t.c2_lo, hi=t.c2_hi,
                                        system=t.c2_system, code=t.c2_code))


def _ref(t: Any, leaf: Leaf, value: RefValue) -> ColumnElement[bool]:
    """A reference value: local (type, id) or URL (canonical may carry `|version`)."""
    if value.id is not None:
        # A plain id matches any allowed target type. Naming them keeps the lookup one range of
        # the (res_type, param, target_type, target_id) index per type; without a type the
        # database walks every row of the parameter (this grew linearly with the data).
        target = value.type or (leaf.modifier if leaf.modifier != "identifier" else None)
        cond = _b(t.target_id == value.id)
        if target:
            return _b(and_(t.target_type == target, cond))
        targets = leaf.param.targets
        return _b(and_(t.target_type.in_(targets), cond)) if targets else cond
    url = value.url or ""
    if "|" in url:
        return _b(t.url == url)
    return or_(t.url == url, _prefix(t.url, url + "|"))


def leaf_pks(ctx: RequestContext, res_type: str, leaf: Leaf) -> Select[Any]:
    """res_pks of `res_type` rows that have a matching index value for `leaf`."""
    p = leaf.param
    if p.type == "reference" and leaf.modifier == "identifier":
        t: Any = TokenIndex
        code = p.code + ":identifier"
        cond = _token_values(t, leaf.values)
    else:
        t = table_for_type(p.type)
        code = p.code + (":of-type" if leaf.modifier == "of-type" else "")
        cond = true() if leaf.missing is not None else _leaf_condition(leaf, t)
    return select(t.res_pk).where(t.res_type == res_type, t.param == code, cond).correlate(None)


def _special(r: Any, leaf: Leaf) -> ColumnElement[bool]:
    """`_id` and `_lastUpdated` are answered from the resources table itself."""
    if leaf.missing is not None:
        return false() if leaf.missing else true()
    if leaf.param.code == "_id":
        cond: ColumnElement[bool] = r.res_id.in_([x.code for x in leaf.values])
    else:
        cond = or_(*(date_condition(r.last_updated, r.last_updated, x) for x in leaf.values))
    return not_(cond) if leaf.negate else cond


def condition(ctx: RequestContext, res_type: str, node: Node, r: Any = R) -> ColumnElement[bool]:
    """A condition on resources `r` that rows of `res_type` match `node`."""
    if isinstance(node, Leaf):
        if node.param.code in ("_id", "_lastUpdated"):
            return _special(r, node)
        sub = leaf_pks(ctx, res_type, node)
        cond = _b(r.pk.not_in(sub)) if node.missing is True or node.negate else _b(r.pk.in_(sub))
        # Consent: a criterion on parts redacted for this actor (e.g. a CarePlan's activities)
        # matches only rows the actor sees whole, so a search never reveals a hidden part.
        guard = consent_hooks.criterion_guard(ctx, res_type, node.param.code, r.pk)
        return cond if guard is None else _b(and_(cond, guard))
    if isinstance(node, Chain):
        return _b(r.pk.in_(chain_pks(ctx, res_type, node)))
    return _b(r.res_id.in_(has_ids(ctx, res_type, node)))


def _live(ctx: RequestContext, res_type: str, r: Any, node: Node) -> list[Any]:
    """Terms: `r` is a live, visible `res_type` resource matching `node`."""
    terms = [r.res_type == res_type, r.deleted == false(), condition(ctx, res_type, node, r)]
    vis = visibility.visible_clause(ctx, res_type, r.pk)
    return terms if vis is None else [*terms, vis]


def chain_pks(ctx: RequestContext, res_type: str, node: Chain) -> Any:
    """res_pks whose reference `node.param` points at a resource matching the inner criteria."""
    alts = []
    for target, inner in node.inner:
        ref = aliased(ReferenceIndex)
        t = aliased(ResourceRow)
        base = select(ref.res_pk).where(ref.res_type == res_type, ref.param == node.param.code,
                                        ref.target_type == target)
        if isinstance(inner, Leaf) and visibility.visible_clause(ctx, target, t.pk) is None:
            # Targets first, then one index probe per target: as a JOIN, SQLite (without
            # statistics) walked every reference of the parameter, a cost growing with the data.
            targets = select(t.res_id).where(*_live(ctx, target, t, inner)).correlate(None)
            alts.append(base.where(ref.target_id.in_(targets)).correlate(None))
            continue
        # Deeper chains and consent clauses: a JOIN per level keeps SQLite's parser stack flat.
        alts.append(base.join(t, and_(t.res_type == ref.target_type, t.res_id == ref.target_id))
                    .where(*_live(ctx, target, t, inner)).correlate(None))
    return alts[0] if len(alts) == 1 else union_all(*alts)


def has_ids(ctx: RequestContext, res_type: str, node: Has) -> Select[Any]:
    """ids of `res_type` resources referenced (through `ref_param`) by a matching source."""
    ref = aliased(ReferenceIndex)
    src = aliased(ResourceRow)
    return (
        select(ref.target_id)
        .join(src, src.pk == ref.res_pk)
        .where(ref.res_type == node.source_type, ref.param == node.ref_param.code,
               ref.target_type == res_type, *_live(ctx, node.source_type, src, node.inner))
        .correlate(None)
    )
