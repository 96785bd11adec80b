"""The FHIR interactions a request can perform (https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


# An entity's content as the audit hook may receive it: served bytes, a parsed dict, or nothing.
EntityContent = bytes | dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What an interaction touched, for the audit log (BALP shape is built from this).

    `contents`, when given, is parallel to `entities` and lets the audit name each entity's
    patient without reading it again; entities without content are looked up by the hook.
    """

    interaction: Interaction
    res_type: str | None
    outcome: int  # HTTP status
    # (resource type, id, version) of every resource read or written, search results included.
    entities: list[tuple[str, str, int | None]] = field(default_factory=list)
    query: str | None = None
    contents: list[EntityContent] = field(default_factory=list)
    operation: str | None = None  # e.g. "$validate", for Interaction.OPERATION
