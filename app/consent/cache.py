"""In-process caches of the stable facts behind access scopes, shared by a Database's requests.

Validity: every cached fact (who the actor is, which Consents name it, team membership, care
relationships) is kept in an `Entry` tagged with the *change generation*: the newest
commit-ordered change position (`sync_changes.pos`, written by a trigger in the writer's own
transaction) of each type that can change who may see what. Each request reads the generation
first (one statement of index probes) and uses only the entry of exactly that generation, so a
write committed on any node sharing the database is seen by every node's next request.

Only read sessions use the cache: a write transaction may see its own uncommitted changes, which
no generation counts yet. Nothing time-dependent is cached: Consents are, their evaluation against
"now" (periods) is done per request. Parsed Consents are keyed by (pk, version): a stored version
never changes, so they need no invalidation, only a bound.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.repository.access_base import generation

# Writes of these types can change who may see what.
SCOPE_TYPES = ("CareTeam", "Consent", "Organization", "Patient", "Practitioner",
               "PractitionerRole", "RelatedPerson")
LIMIT = 50_000  # entries per map; a full map is emptied (a miss costs one lookup)


@dataclass
class Entry:
    """Facts valid at one change generation."""

    gen: tuple[int, ...]
    policy: object  # the Policy the facts were computed under (held: its id is never reused)
    members: dict[Any, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    consent_keys: dict[Any, list[tuple[int, int]]] = field(default_factory=dict)
    teams: dict[Any, bool] = field(default_factory=dict)
    care: dict[Any, bool] = field(default_factory=dict)

    def put(self, name: str, key: Any, value: Any) -> None:
        """Store one fact (bounded)."""
        store: dict[Any, Any] = getattr(self, name)
        if len(store) >= LIMIT:
            store.clear()
        store[key] = value


@dataclass
class _PerDatabase:
    current: Entry | None = None
    parsed: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)


_dbs: weakref.WeakKeyDictionary[Any, _PerDatabase] = weakref.WeakKeyDictionary()


def _newer(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """True when generation `a` is at least `b` for every type."""
    return len(a) == len(b) and all(x >= y for x, y in zip(a, b, strict=True))


async def entry(session: AsyncSession, policy: object) -> Entry | None:
    """The cache entry valid for this session's view of the data (None: do not cache)."""
    db = session.info.get("db")
    if db is None or session.info.get("write"):
        return None
    gen = await generation(session, SCOPE_TYPES)
    per = _dbs.get(db)
    if per is None:
        per = _dbs[db] = _PerDatabase()
    if per.current is not None and per.current.gen == gen and per.current.policy is policy:
        return per.current
    fresh = Entry(gen, policy)
    # A request that read an older generation (it started before a commit) fills a private
    # entry and never replaces a newer one.
    if per.current is None or per.current.policy is not policy or _newer(gen, per.current.gen):
        per.current = fresh
    return fresh


def parsed(session: AsyncSession) -> dict[tuple[int, int], dict[str, Any]] | None:
    """The (pk, version) -> parsed Consent map of the session's Database (never mutated)."""
    # Read sessions only: a write session may see a version that is later rolled back.
    db = session.info.get("db")
    if db is None or session.info.get("write"):
        return None
    per = _dbs.get(db)
    if per is None:
        per = _dbs[db] = _PerDatabase()
    if len(per.parsed) >= LIMIT:
        per.parsed.clear()
    return per.parsed


def clear() -> None:
    """Forget every cache (tests)."""
    _dbs.clear()
