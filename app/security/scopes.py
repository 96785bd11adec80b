"""SMART App Launch scopes (v2 `user/CarePlan.rs`, v1 `user/*.read`) and what they grant."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from app.security.interactions import Interaction

ADMIN_SCOPE = "fellesplan/admin"
AUDIT_SCOPE = "fellesplan/audit"

_V2 = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.(c?r?u?d?s?)$")
_V1 = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*)$")
_V1_PERMS = {"read": "rs", "write": "cud", "*": "cruds"}

# The permission letter each interaction needs (SMART v2: c, r, u, d, s).
PERMISSION: Mapping[Interaction, str] = {
    Interaction.READ: "r",
    Interaction.VREAD: "r",
    Interaction.HISTORY_INSTANCE: "r",
    Interaction.OPERATION: "r",
    Interaction.SEARCH_TYPE: "s",
    Interaction.SEARCH_SYSTEM: "s",
    Interaction.HISTORY_TYPE: "s",
    Interaction.HISTORY_SYSTEM: "s",
    Interaction.CREATE: "c",
    Interaction.UPDATE: "u",
    Interaction.PATCH: "u",
    Interaction.DELETE: "d",
}


@dataclass(frozen=True, slots=True)
class Grant:
    """One resource scope: launch context, type (or *), and permission letters."""

    context: str
    res_type: str
    perms: frozenset[str]

    def allows(self, res_type: str | None, perm: str) -> bool:
        """True when this grant covers `perm` on `res_type` (None means every type)."""
        if perm not in self.perms:
            return False
        return self.res_type == "*" or (res_type is not None and self.res_type == res_type)


def parse(scope: str) -> Grant | None:
    """A resource scope as a Grant; None for other scopes and for v2 scopes with ?query.

    Scopes narrowed by a query (`patient/CarePlan.rs?category=...`) are ignored, not widened:
    the server cannot enforce every such filter, so it grants nothing for them (fail closed).
    """
    m = _V2.match(scope)
    if m and m.group(3):
        return Grant(m.group(1), m.group(2), frozenset(m.group(3)))
    m = _V1.match(scope)
    if m:
        return Grant(m.group(1), m.group(2), frozenset(_V1_PERMS[m.group(3)]))
    return None


@lru_cache(maxsize=4096)
def grants(scopes: frozenset[str]) -> tuple[Grant, ...]:
    """The resource grants of a scope set (cached: tokens repeat the same sets)."""
    return tuple(g for g in (parse(s) for s in sorted(scopes)) if g is not None)


def allows(scopes: frozenset[str], res_type: str | None, perm: str) -> bool:
    """True when some scope grants `perm` on `res_type`."""
    return any(g.allows(res_type, perm) for g in grants(scopes))


def expand(raw: Iterable[str], scope_map: Mapping[str, list[str]]) -> frozenset[str]:
    """The token's scopes plus the SMART scopes its HelseID API scopes are mapped to."""
    out = set(raw)
    for scope in list(out):
        out.update(scope_map.get(scope, ()))
    return frozenset(out)


def supported_scopes() -> list[str]:
    """Scopes advertised in the SMART configuration."""
    return [
        "user/*.cruds", "user/*.rs", "system/*.cruds", "system/*.rs", "patient/*.rs",
        "user/CarePlan.cruds", "user/*.read", "user/*.write", ADMIN_SCOPE, AUDIT_SCOPE,
    ]
