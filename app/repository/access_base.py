"""Building blocks of the consent SQL: cheap table aliases, IN lists, reference targets, and
the change generation the consent caches are validated against."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.policy import Policy
from app.db.lean import lean_for
from app.db.subscription_tables import ChangeRow
from app.db.tables import ResourceRow

T = TypeVar("T")

R = ResourceRow


class _alias:  # used like sqlalchemy.orm.aliased
    """A Core alias of a mapped table with attribute access to its columns (cheap to build)."""

    __slots__ = ("_a",)

    def __init__(self, cls: type[Any]) -> None:
        self._a = cast(Table, cls.__table__).alias()

    def __clause_element__(self) -> Any:
        return self._a

    def __getattr__(self, name: str) -> Any:
        cols = self._a.c
        if name in cols:
            return cols[name]
        raise AttributeError(name)  # SQLAlchemy probes for protocol attributes


Ref = tuple[str, str]  # (type, id)
CHUNK = 500
TEAM_PARAMS = ("participant", "pa-vegne-av")


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    """IN-list sized chunks."""
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)] or [[]]


def _in(col: Any, values: Sequence[Any] | Select[Any]) -> ColumnElement[bool]:
    """col IN values, chunked for long lists; a Select is used as a semi-join."""
    if isinstance(values, Select):
        return col.in_(values)  # type: ignore[no-any-return]
    if not values:
        return false()
    return or_(*(col.in_(list(c)) for c in _chunks(list(values))))


def _targets(ref: Any, refs: Iterable[Ref]) -> ColumnElement[bool]:
    """ref.target (type, id) is one of `refs`, one IN list per type."""
    by_type: dict[str, list[str]] = {}
    for t, i in refs:
        by_type.setdefault(t, []).append(i)
    return or_(false(), *(and_(ref.target_type == t, _in(ref.target_id, ids))
                          for t, ids in sorted(by_type.items())))


def _care_rule_list(policy: Policy, key: str) -> list[str]:
    """A list setting of the care rule."""
    rule = policy.rule("care")
    return list(rule.raw.get(key, ())) if rule is not None else []


_CHANGES = cast(Table, ChangeRow.__table__)


@lru_cache(maxsize=8)
def _generation_stmt(n: int) -> Select[Any]:
    """max(pos) per type for `n` types (binds t0..), one index probe each; built once."""
    c = _CHANGES.c
    return select(*(select(func.max(c.pos)).where(c.res_type == bindparam(f"t{k}"))
                    .scalar_subquery() for k in range(n)))


async def generation(session: AsyncSession, types: Sequence[str]) -> tuple[int, ...]:
    """The newest commit-ordered change position of each type (0 for none)."""
    # `pos` is assigned in commit order, so a higher value means a newer committed state.
    stmt, params = _generation_stmt(len(types)), {f"t{k}": t for k, t in enumerate(types)}
    lean = lean_for(session)
    if lean is not None:  # one statement in autocommit: no BEGIN/COMMIT for a cached scope
        row = (await lean.fetch(stmt, params))[0]
    else:
        row = tuple((await session.execute(stmt, params)).one())
    return tuple(int(v or 0) for v in row)


_BUILT: dict[Any, tuple[Policy, Any]] = {}


def memo(policy: Policy, key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """A statement or clause built once per key (bounded)."""
    # Building SQLAlchemy expression trees costs more than running them, and an actor's
    # requests repeat the same shapes.
    hit = _BUILT.get(key)
    if hit is not None and hit[0] is policy:
        return cast(T, hit[1])
    value = build()
    if len(_BUILT) >= 1024:  # each entry is an expression tree (tens of kB)
        _BUILT.clear()
    _BUILT[key] = (policy, value)
    return value


def chunked(values: Sequence[Any]) -> list[list[Any]]:
    """Values for an expanding bind parameter, in IN-list sized chunks."""
    return [list(c) for c in _chunks(list(values))]
