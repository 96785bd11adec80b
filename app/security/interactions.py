"""The FHIR interactions a request can perform (https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Interaction(StrEnum):
    """FHIR RESTful interaction names, as in CapabilityStatement.rest.resource.interaction."""

    READ = "read"
    VREAD = "vread"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    HISTORY_INSTANCE = "history-instance"
    HISTORY_TYPE = "history-type"
    HISTORY_SYSTEM = "history-system"
    CREATE = "create"
    SEARCH_TYPE = "search-type"
    SEARCH_SYSTEM = "search-system"
    OPERATION = "operation"
    CAPABILITIES = "capabilities"
    TRANSACTION = "transaction"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What an interaction touched, for the audit log (BALP shape is built from this)."""

    interaction: Interaction
    res_type: str | None
    outcome: int  # HTTP status
    # (resource type, id, version) of every resource read or written, search results included.
    entities: list[tuple[str, str, int | None]] = field(default_factory=list)
    query: str | None = None
