"""The CapabilityStatement, generated from the routes, search registry and operations table.

Nothing here is hand-written per type: what the server really routes is what it declares
(https://hl7.org/fhir/R4/capabilitystatement.html).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app import __version__
from app.config import Settings
from app.fhir.dates import format_instant, utcnow
from app.fhir.models import FHIR_VERSION, SERVED_TYPES
from app.operations.registry import registry
from app.search.registry import search_params_for

_TYPE_LEVEL = ("read", "vread", "update", "patch", "delete", "history-instance", "history-type",
               "create", "search-type")
_SYSTEM_LEVEL = ("transaction", "batch", "search-system", "history-system")


def build(route_names: Iterable[str], settings: Settings, security: dict[str, Any] | None,
          audit_params: Iterable[tuple[str, str, str]] = ()) -> dict[str, Any]:
    """Build the CapabilityStatement from the names of the registered routes."""
    route_names = list(route_names)
    names = {c for n in route_names if n.startswith("interaction:")
             for c in n.split(":", 1)[1].split("+")}
    audit = {n.split(":", 1)[1] for n in route_names if n.startswith("audit:")}
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": "Fellesplan: delte kriseplaner og individuelle planer.",
        "resource": [_audit_resource(audit, audit_params) if t == "AuditEvent" else _resource(t, names)
                     for t in SERVED_TYPES],
        "interaction": [{"code": c} for c in _SYSTEM_LEVEL if c in names],
        "operation": _operations("system"),
    }
    if security:
        rest["security"] = security
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": format_instant(utcnow()),
        "publisher": "Fellesplan",
        "kind": "instance",
        "software": {"name": "Fellesplan", "version": __version__},
        "implementation": {"description": "Fellesplan FHIR server", "url": settings.base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{k: v for k, v in rest.items() if v}],
    }


def _resource(res_type: str, names: set[str]) -> dict[str, Any]:
    """One rest.resource entry."""
    out: dict[str, Any] = {
        "type": res_type,
        "profile": f"http://hl7.org/fhir/StructureDefinition/{res_type}",
        "interaction": [{"code": c} for c in _TYPE_LEVEL if c in names],
        "versioning": "versioned-update",
        "readHistory": "vread" in names,
        "updateCreate": "update" in names,
        "conditionalCreate": "create" in names,
        "conditionalRead": "full-support" if "read" in names else "not-supported",
        "conditionalUpdate": "conditional-update" in names,
        "conditionalDelete": "single" if "conditional-delete" in names else "not-supported",
        "referencePolicy": ["literal", "logical", "local"],
        "searchParam": [
            {"name": p.name, "definition": p.url, "type": p.type, "documentation": p.documentation}
            for p in search_params_for(res_type)
        ],
        # One entry per operation, whether it runs on the type, an instance, or both.
        "operation": list({o["name"]: o for o in _operations("type", res_type)
                           + _operations("instance", res_type)}.values()),
    }
    return {k: v for k, v in out.items() if v not in ([], None)}


def _audit_resource(interactions: set[str], params: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """AuditEvent: read and search of the server-written, hash-chained log only."""
    return {
        "type": "AuditEvent",
        "profile": "http://hl7.org/fhir/StructureDefinition/AuditEvent",
        "documentation": "Written by the server only (IHE BALP); patients read their own log.",
        "interaction": [{"code": c} for c in _TYPE_LEVEL if c in interactions],
        "searchParam": [{"name": n, "type": t, "definition": u} for n, t, u in params],
    }


def _operations(level: str, res_type: str | None = None) -> list[dict[str, Any]]:
    """The registered operations available at a level."""
    seen: list[dict[str, Any]] = []
    for op in registry().values():
        if op.allows(level, res_type) and not any(s["name"] == op.name for s in seen):
            seen.append({"name": op.name, "definition": op.definition.get("url", "")})
    return seen
