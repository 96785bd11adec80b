"""The request's actor context, a required argument on every read and write path.

Privileged internal access is spelled out as SYSTEM (as in Medplum's per-request repository).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# HL7 v3 PurposeOfUse codes that mean emergency access (shown to the patient afterwards).
EMERGENCY_PURPOSES = frozenset({"ETREAT", "BTG"})


class ActorKind(StrEnum):
    """Who is acting."""

    SYSTEM = "system"  # internal, privileged: migrations, import, workers
    OPEN = "open"  # authentication disabled (development only)
    HEALTH = "health"  # health personnel: HPR + organisation
    CLIENT = "client"  # a system client acting for an organisation
    PERSON = "person"  # a citizen: the patient or next of kin (pid only)
    ADMIN = "admin"
    STAFF = "staff"  # a person acting for an organisation without HPR (e.g. NAV)


@dataclass(frozen=True, slots=True)
class CareRelationship:
    """The care relationship attested by the trust framework (tillitsrammeverk)."""

    purpose_of_use: str | None = None
    healthcare_service: str | None = None
    decision_ref: str | None = None
    patients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The authenticated actor and request facts every service call needs."""

    kind: ActorKind
    request_id: str = ""
    pid: str | None = None
    hpr: str | None = None
    org: str | None = None  # the organisation acted for: orgnr_child, else orgnr_parent
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    purpose_of_use: str | None = None
    break_glass_reason: str | None = None
    org_parent: str | None = None  # the legal entity (orgnr_parent)
    org_ref: str | None = None  # "Organization/<id>" registered with `org`, when known
    org_name: str | None = None
    service_type: str | None = None  # tjenestetype of the registered organisation
    name: str | None = None  # the person's display name from the token
    # Person actors: their own Patient(s), their RelatedPerson(s), and whom they are next of kin to.
    patient_refs: tuple[str, ...] = ()
    related_person_refs: tuple[str, ...] = ()
    related_patient_refs: tuple[str, ...] = ()
    care: CareRelationship | None = None
    address: str | None = None  # the client's network address, for the audit log

    @property
    def privileged(self) -> bool:
        """True for actors that bypass consent (internal system work only)."""
        return self.kind in (ActorKind.SYSTEM, ActorKind.OPEN)

    @property
    def emergency(self) -> bool:
        """True when access is claimed on an emergency or break-glass basis."""
        return self.purpose_of_use in EMERGENCY_PURPOSES or bool(self.break_glass_reason)

    def has_scope(self, scope: str) -> bool:
        """True when the token carries this exact scope (e.g. fellesplan/audit)."""
        return scope in self.scopes


SYSTEM = RequestContext(kind=ActorKind.SYSTEM, request_id="system")
