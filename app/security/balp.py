"""AuditEvents in the shape of IHE Basic Audit Log Patterns (BALP) RESTful events.

One event per patient concerned (BALP's privacy split), so a patient's log never shows
another patient's resources; resources without a patient share one event.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from app.fhir.dates import format_instant
from app.security import narrative
from app.security.interactions import AuditRecord, Interaction
from app.services.context import RequestContext

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
BALP_ENTITY = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
CLIENT_SYSTEM = "https://fellesplan.no/fhir/NamingSystem/helseid-client-id"
TJENESTETYPE = "https://fellesplan.no/fhir/CodeSystem/tjenestetype"
# What else the interaction was: an operation ($access) or "care-relationship-established".
EVENT_SYSTEM = "https://fellesplan.no/fhir/CodeSystem/audit-hendelse"
EMERGENCY_EXT = "https://fellesplan.no/fhir/StructureDefinition/emergency-access"
PROFILE = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"

ACTION = {
    Interaction.CREATE: "C", Interaction.READ: "R", Interaction.VREAD: "R",
    Interaction.HISTORY_INSTANCE: "R", Interaction.UPDATE: "U", Interaction.PATCH: "U",
    Interaction.DELETE: "D",
}


@dataclass(frozen=True, slots=True)
class Entity:
    """A resource touched by the interaction, with the patients it concerns."""

    res_type: str
    res_id: str
    version: int | None
    patients: tuple[str, ...]

    @property
    def reference(self) -> str:
        """Versioned reference when the version is known."""
        base = f"{self.res_type}/{self.res_id}"
        return f"{base}/_history/{self.version}" if self.version else base


def split(
    entities: list[Entity], query_patients: tuple[str, ...]
) -> dict[str | None, list[Entity]]:
    """Entities grouped by patient; None holds entities that concern no patient."""
    groups: dict[str | None, list[Entity]] = {p: [] for p in query_patients}
    for ent in entities:
        for p in ent.patients or (None,):
            groups.setdefault(p, []).append(ent)
    return groups or {None: []}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    """A Coding."""
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _user_agent(ctx: RequestContext, patient: str | None) -> dict[str, Any] | None:
    """The human actor (health personnel, staff, person), requestor of the access."""
    who: dict[str, Any] = {}
    if ctx.hpr:
        who["identifier"] = {"system": HPR_SYSTEM, "value": ctx.hpr}
    elif ctx.pid:
        who["identifier"] = {"system": FNR_SYSTEM, "value": ctx.pid}
        own = [r for r in ctx.patient_refs if r == patient] or list(ctx.related_person_refs)
        if own:
            who["reference"] = own[0]
    else:
        return None
    if ctx.name:
        who["display"] = ctx.name
    agent: dict[str, Any] = {
        "type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                    "IRCP", "information recipient")]},
        "who": who, "requestor": True,
    }
    if ctx.name:
        agent["name"] = ctx.name
    if ctx.purpose_of_use:
        agent["purposeOfUse"] = [{"coding": [_coding(ACT_REASON, ctx.purpose_of_use)]}]
    return agent


def _org_agent(ctx: RequestContext, requestor: bool) -> dict[str, Any] | None:
    """The organisation acted for, with its service type."""
    if not ctx.org:
        return None
    who: dict[str, Any] = {"identifier": {"system": ORGNR_SYSTEM, "value": ctx.org}}
    if ctx.org_ref:
        who["reference"] = ctx.org_ref
    if ctx.org_name:
        who["display"] = ctx.org_name
    agent: dict[str, Any] = {
        "type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                                    "PROV", "healthcare provider")]},
        "who": who, "requestor": requestor,
    }
    if ctx.service_type:
        agent["role"] = [{"coding": [_coding(TJENESTETYPE, ctx.service_type,
                                             narrative.SERVICE_TYPE_NB.get(ctx.service_type))]}]
    return agent


def _agents(ctx: RequestContext, patient: str | None, source: str, base: str) -> list[Any]:
    """BALP agents: user, organisation, client (source role) and server (destination role)."""
    user = _user_agent(ctx, patient)
    agents = [a for a in (user, _org_agent(ctx, requestor=user is None)) if a]
    client: dict[str, Any] = {
        "type": {"coding": [_coding(DCM, "110153", "Source Role ID")]},
        "who": {"identifier": {"system": CLIENT_SYSTEM, "value": ctx.client_id or ctx.kind.value}},
        "requestor": not agents,
    }
    if ctx.address:
        client["network"] = {"address": ctx.address, "type": "2"}
    server = {
        "type": {"coding": [_coding(DCM, "110152", "Destination Role ID")]},
        "who": {"display": source}, "requestor": False,
        "network": {"address": base, "type": "5"},
    }
    return [*agents, client, server]


def _entities(patient: str | None, ents: list[Entity], record: AuditRecord,
              request_id: str) -> list[dict[str, Any]]:
    """BALP entities: the patient, each resource, the query and the request id."""
    out: list[dict[str, Any]] = []
    if patient:
        out.append({"what": {"reference": patient}, "type": _coding(ENTITY_TYPE, "1", "Person"),
                    "role": _coding(OBJECT_ROLE, "1", "Patient")})
    for e in ents:
        if e.res_type == "Patient" and patient and e.reference.startswith(patient + "/"):
            out[0]["what"]["reference"] = e.reference  # the patient entity is the resource
            continue
        out.append({"what": {"reference": e.reference},
                    "type": _coding(ENTITY_TYPE, "2", "System Object"),
                    "role": _coding(OBJECT_ROLE, "4", "Domain Resource")})
    if record.query is not None:
        q = base64.b64encode(record.query.encode()).decode("ascii")
        out.append({"type": _coding(ENTITY_TYPE, "2", "System Object"),
                    "role": _coding(OBJECT_ROLE, "24", "Query"), "query": q})
    if request_id:
        out.append({"what": {"identifier": {"value": request_id}},
                    "type": _coding(BALP_ENTITY, "XrequestId", "X-Request-Id")})
    return out


def outcome_code(status: int) -> str:
    """BALP outcome: 0 success, 4 minor failure (4xx), 8 serious failure (5xx)."""
    return "0" if status < 400 else "4" if status < 500 else "8"


def build(ctx: RequestContext, record: AuditRecord, patient: str | None, ents: list[Entity],
          recorded: dt.datetime, source: str, base: str) -> dict[str, Any]:
    """One AuditEvent resource."""
    event_id = str(uuid.uuid4())
    ok = record.outcome < 400
    types = [e.res_type for e in ents if not (e.res_type == "Patient" and e.patients == (patient,))]
    if not types and any(e.res_type == "Patient" for e in ents):
        types = ["Patient"]
    ev: dict[str, Any] = {
        "resourceType": "AuditEvent", "id": event_id,
        "meta": {"versionId": "1", "lastUpdated": format_instant(recorded), "profile": [PROFILE]},
        "text": {"status": "generated", "div": narrative.render(
            ctx, record.interaction, types, patient, recorded, ok)},
        "extension": [{"url": EMERGENCY_EXT, "valueBoolean": ctx.emergency}],
        "type": _coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
                        "Restful Operation"),
        "subtype": [_coding("http://hl7.org/fhir/restful-interaction", record.interaction.value),
                    *([_coding(EVENT_SYSTEM, record.operation)] if record.operation else [])],
        "action": ACTION.get(record.interaction, "E"), "recorded": format_instant(recorded),
        "outcome": outcome_code(record.outcome),
        "agent": _agents(ctx, patient, source, base),
        "source": {"site": base, "observer": {"display": source},
                   "type": [_coding("http://terminology.hl7.org/CodeSystem/security-source-type",
                                    "4", "Application Server")]},
        "entity": _entities(patient, ents, record, ctx.request_id),
    }
    if not ok:
        ev["outcomeDesc"] = f"HTTP {record.outcome}"
    if ctx.purpose_of_use or ctx.break_glass_reason:
        purpose: dict[str, Any] = {"coding": [_coding(ACT_REASON, ctx.purpose_of_use or "BTG")]}
        if ctx.break_glass_reason:
            purpose["text"] = ctx.break_glass_reason
        ev["purposeOfEvent"] = [purpose]
    return ev


def index_values(event: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Search values derived from an event's content (verify recomputes them the same way)."""
    out: set[tuple[str, str]] = set()
    for ent in event.get("entity") or ():
        role = (ent.get("role") or {}).get("code")
        ref = (ent.get("what") or {}).get("reference") or ""
        if role == "1" and ref.startswith("Patient/"):
            out.add(("patient", "/".join(ref.split("/")[:2])))
    for agent in event.get("agent") or ():
        who = agent.get("who") or {}
        for value in ((who.get("identifier") or {}).get("value"), who.get("reference")):
            if isinstance(value, str) and value:
                out.add(("agent", value))
    return tuple(sorted(out))
