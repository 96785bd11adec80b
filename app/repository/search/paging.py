"""The paged main query: criteria, sort keys and keyset paging (never OFFSET).

Rows are ordered by the requested sort keys, then by pk; a cursor holds the last row's keys,
so the next page is `(keys, pk) > cursor`, stable while other clients write. A key's missing
value sorts last in both directions (a NULL flag orders first).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.index_tables import (
    DateIndex,
    QuantityIndex,
    ReferenceIndex,
    StringIndex,
    TokenIndex,
    UriIndex,
)
from app.db.tables import ResourceRow
from app.repository.search import visibility
from app.repository.search.criteria import condition
from app.search.registry import registry
from app.search.values import bad
from app.services.context import RequestContext

R = ResourceRow
_SORT_COL: dict[str, tuple[Any, str, str]] = {  # type -> (table, asc column, desc column)
    "string": (StringIndex, "norm", "norm"),
    "token": (TokenIndex, "value", "value"),
    "date": (DateIndex, "lo", "hi"),
    "number": (QuantityIndex, "lo", "hi"),
    "quantity": (QuantityIndex, "lo", "hi"),
    "reference": (ReferenceIndex, "target_id", "target_id"),
    "uri": (UriIndex, "value", "value"),
}


def base_where(
    ctx: RequestContext, types: Sequence[str], criteria: Sequence[Any],
    extra: ColumnElement[bool] | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE terms for live, visible resources of `types` matching all criteria."""
    per_type = []
    for t in types:
        conds = [R.res_type == t, *(condition(ctx, t, c) for c in criteria)]
        if (vis := visibility.visible_clause(ctx, t, R.pk)) is not None:
            conds.append(vis)
        per_type.append(and_(*conds))
    where = [R.deleted == false(), or_(*per_type) if len(per_type) > 1 else per_type[0]]
    return [*where, extra] if extra is not None else where


def sort_key(res_type: str | None, code: str, desc: bool) -> Any:
    """A scalar expression for one sort key (min value ascending, max descending)."""
    if code == "_id":
        return R.res_id
    if code == "_lastUpdated":
        return R.last_updated
    p = registry().get(res_type or "", code)
    assert p is not None
    table, asc_col, desc_col = _SORT_COL[p.type]
    col = getattr(table, desc_col if desc else asc_col)
    agg = func.max(col) if desc else func.min(col)
    return (
        select(agg).where(table.res_pk == R.pk, table.param == p.code).scalar_subquery()
    )


def _key_kind(res_type: str | None, code: str) -> type | tuple[type, ...]:
    """The Python type a cursor value must have for one sort key."""
    if code == "_lastUpdated":
        return dt.datetime
    p = registry().get(res_type or "", code) if code != "_id" else None
    if p is not None and p.type == "date":
        return dt.datetime
    if p is not None and p.type in ("number", "quantity"):
        return (int, float)
    return str


def _check_cursor_types(res_type: str | None, sort: list[tuple[str, bool]],
                        keys: list[Any]) -> None:
    """A cursor from another search (or a tampered one) is a 400, not a database error."""
    for (code, _), key in zip(sort, keys, strict=True):
        kind = _key_kind(res_type, code)
        if key is None and code not in ("_id", "_lastUpdated"):
            continue
        if isinstance(key, bool) or not isinstance(key, kind) or (
                isinstance(key, dt.datetime) and key.tzinfo is not None):
            raise bad("_cursor", "the cursor does not belong to this search")


def encode_cursor(direction: str, keys: list[Any], pk: int, total: int | None = None) -> str:
    """An opaque cursor: direction ('n' next / 'p' previous), sort keys, pk, first page's total."""
    enc = [["d", k.isoformat()] if isinstance(k, dt.datetime) else ["v", k] for k in keys]
    raw = orjson.dumps([direction, enc, pk, total])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _load(raw: str) -> list[Any]:
    """The JSON list inside a cursor."""
    data = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    if not isinstance(data, list) or len(data) not in (3, 4):
        raise ValueError
    return data


def cursor_total(raw: str) -> int | None:
    """The total counted on the first page, carried by the cursor (None if absent or bad)."""
    try:
        data = _load(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        return None
    total = data[3] if len(data) == 4 else None
    return total if isinstance(total, int) and total >= 0 else None


def _db_int(value: Any) -> bool:
    """An int PostgreSQL's bigint can hold (bool excluded)."""
    return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63


def decode_cursor(raw: str, n_keys: int) -> tuple[str, list[Any], int]:
    """Parse a cursor from a page link; 400 when it was tampered with."""
    try:
        direction, enc, pk = _load(raw)[:3]
        keys = [dt.datetime.fromisoformat(v) if t == "d" else v for t, v in enc]
        if direction not in ("n", "p") or len(keys) != n_keys or not _db_int(pk):
            raise ValueError
        if any(isinstance(k, str) and "\x00" in k for k in keys) or any(
                isinstance(k, int) and not _db_int(k) for k in keys):
            raise ValueError
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise bad("_cursor", "invalid paging cursor") from None
    return direction, keys, pk


def _after(cols: list[Any], descs: list[bool], nullable: list[bool], keys: list[Any], pk: int,
           fwd: bool) -> Any:
    """Rows strictly after (fwd) or before the cursor in (null flag, key..., pk) order."""
    pk_desc = descs[-1] if descs else False
    cond: Any = (cols[-1] < pk) if pk_desc == fwd else (cols[-1] > pk)
    for col, desc, null_ok, key in zip(reversed(cols[:-1]), reversed(descs), reversed(nullable),
                                       reversed(keys), strict=True):
        if key is None:  # cursor row had no value: only later NULL-valued rows follow
            cond = and_(col.is_(None), cond) if fwd else or_(col.is_not(None), cond)
            continue
        gt = (col < key) if desc == fwd else (col > key)
        nxt = or_(gt, and_(col == key, cond))
        if null_ok:  # NULL keys sort last: after any value going forward, before it going back
            nxt = or_(col.is_(None), nxt) if fwd else and_(col.is_not(None), nxt)
        cond = nxt
    return cond


def page_select(
    where: list[ColumnElement[bool]], keys: list[Any], descs: list[bool],
    cursor: tuple[str, list[Any], int] | None, limit: int, nullable: list[bool] | None = None,
) -> tuple[Select[Any], bool]:
    """The page query and whether it walks backwards (a 'previous' cursor)."""
    # Ties break on pk in the direction of the last key, so `_sort=-_lastUpdated` is one
    # backward scan of (res_type, last_updated, pk).
    nullable = nullable if nullable is not None else [True] * len(keys)
    labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
    sub = select(R.pk.label("pk"), *labelled).where(*where).subquery()
    cols = [sub.c[f"k{i}"] for i in range(len(keys))] + [sub.c.pk]
    fwd = cursor is None or cursor[0] == "n"
    stmt = select(*cols)
    if cursor is not None:
        stmt = stmt.where(_after(cols, descs, nullable, cursor[1], cursor[2], fwd))
    order: list[Any] = []
    for col, desc, null_ok in zip(cols[:-1], descs, nullable, strict=True):
        if null_ok:  # missing values sort last in both directions
            nulls = case((col.is_(None), 1), else_=0)
            order.append(nulls if fwd else nulls.desc())
        order.append(col.desc() if desc == fwd else col.asc())
    pk_desc = descs[-1] if descs else False
    order.append(cols[-1].desc() if pk_desc == fwd else cols[-1].asc())
    return stmt.order_by(*order).limit(limit), not fwd


def sorted_page(
    where: list[ColumnElement[bool]], res_type: str | None, sort: list[tuple[str, bool]],
    cursor: tuple[str, list[Any], int] | None, limit: int,
) -> tuple[Select[Any], bool]:
    """The page statement for `_sort` keys (see page_select)."""
    keys = [sort_key(res_type, code, desc) for code, desc in sort]
    descs = [desc for _, desc in sort]
    nullable = [code not in ("_id", "_lastUpdated") for code, _ in sort]
    return page_select(where, keys, descs, cursor, limit, nullable)


async def fetch_page(
    session: AsyncSession, where: list[ColumnElement[bool]], res_type: str | None,
    sort: list[tuple[str, bool]], cursor_raw: str | None, count: int,
) -> tuple[list[tuple[int, list[Any]]], bool, bool]:
    """(pk, keys) of one page, whether more rows follow, and whether rows precede."""
    cursor = decode_cursor(cursor_raw, len(sort)) if cursor_raw else None
    if cursor is not None:
        _check_cursor_types(res_type, sort, cursor[1])
    stmt, backwards = sorted_page(where, res_type, sort, cursor, count + 1)
    rows = [(r[-1], list(r[:-1])) for r in (await session.execute(stmt)).all()]
    more = len(rows) > count
    rows = rows[:count]
    if backwards:
        rows.reverse()
        return rows, True, more
    return rows, more, cursor is not None


async def count_matches(session: AsyncSession, where: list[ColumnElement[bool]]) -> int:
    """COUNT(*) of the matches (the total); consent clauses are already in `where`."""
    stmt = select(func.count()).select_from(R).where(*where)
    return int((await session.execute(stmt)).scalar_one())
