"""The fixed world stored once per backend for the access-matrix tests."""

from __future__ import annotations

from dataclasses import dataclass

from app.db.engine import Database
from tests.conftest import database_url, make_settings
from tests.consent import world_fixed
from tests.consent.reference import decide
from tests.consent.world import Actor, World, render, store


@dataclass
class Matrix:
    db: Database
    world: World
    actors: dict[str, Actor]
    ids: dict[str, str]

    def expect(self, actor: str, res_type: str, res_id: str) -> object:
        """The reference decision for one actor and resource."""
        owner = next(o for t, i, o in self.world.resources() if (t, i) == (res_type, res_id))
        return decide(self.world, self.actors[actor], res_type, res_id, owner)

    def visible(self, actor: str, res_type: str) -> set[str]:
        """ids of the type the reference lets the actor see."""
        return {i for t, i, _ in self.world.resources()
                if t == res_type and self.expect(actor, t, i) is not None}


_CACHE: dict[str, Matrix] = {}


async def matrix(backend: str) -> Matrix:
    """The stored fixed world for a backend (built on first use)."""
    if backend not in _CACHE:
        url = await database_url(backend, "_consent_matrix")
        db = Database(make_settings(url), url)
        w, actors, ids = world_fixed.build()
        await store(db, render(w))
        _CACHE[backend] = Matrix(db, w, actors, ids)
    return _CACHE[backend]


async def dispose() -> None:
    """Close the cached databases."""
    for m in _CACHE.values():
        await m.db.dispose()
    _CACHE.clear()
