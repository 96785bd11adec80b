"""The request's actor context, a required argument on every read and write path.

Privileged internal access is spelled out as SYSTEM (as in Medplum's per-request repository).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ActorKind(StrEnum):
    """Who is acting."""

    SYSTEM = "system"  # internal, privileged: migrations, import, workers
    OPEN = "open"  # authentication disabled (development only)
    HEALTH = "health"  # health personnel: HPR + organisation
    CLIENT = "client"  # a system client acting for an organisation
    PERSON = "person"  # a citizen: the patient or next of kin (pid only)
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The authenticated actor and request facts every service call needs."""

    kind: ActorKind
    request_id: str = ""
    pid: str | None = None
    hpr: str | None = None
    org: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    purpose_of_use: str | None = None
    break_glass_reason: str | None = None

    @property
    def privileged(self) -> bool:
        """True for actors that bypass consent (internal system work only)."""
        return self.kind in (ActorKind.SYSTEM, ActorKind.OPEN)


SYSTEM = RequestContext(kind=ActorKind.SYSTEM, request_id="system")
