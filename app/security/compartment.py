"""Which patient(s) a resource concerns, following the R4 patient CompartmentDefinition."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

# Paths of the patient compartment's reference parameters, for the types Fellesplan serves.
PATIENT_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AuditEvent": (("entity", "what"), ("agent", "who")),
    "CarePlan": (("subject",), ("activity", "detail", "performer")),
    "CareTeam": (("subject",), ("participant", "member")),
    "Consent": (("patient",),),
    "Goal": (("subject",),),
    "Patient": (("link", "other"),),
    "Provenance": (("target",),),
    "QuestionnaireResponse": (("subject",), ("author",)),
    "RelatedPerson": (("patient",),),
}
# Query parameters that name the patient a search is about.
PATIENT_PARAMS = frozenset({"patient", "subject", "_id", "patient:Patient", "subject:Patient"})


def patient_ref(reference: Any) -> str | None:
    """'Patient/<id>' for a local Patient reference (version dropped), else None."""
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        return None
    parts = reference.split("/")
    return f"Patient/{parts[1]}" if len(parts) >= 2 and parts[1] else None


def _walk(node: Any, path: tuple[str, ...]) -> list[Any]:
    """Values at a dotted path, flattening lists."""
    nodes = [node]
    for step in path:
        nxt: list[Any] = []
        for n in nodes:
            value = n.get(step) if isinstance(n, dict) else None
            nxt.extend(value if isinstance(value, list) else [value] if value is not None else [])
        nodes = nxt
    return nodes


def patients_of(resource: dict[str, Any]) -> tuple[str, ...]:
    """The patients a resource belongs to (a Patient belongs to itself)."""
    res_type = resource.get("resourceType")
    out: set[str] = set()
    if res_type == "Patient" and resource.get("id"):
        out.add(f"Patient/{resource['id']}")
    for path in PATIENT_PATHS.get(str(res_type), ()):
        for ref in _walk(resource, path):
            p = patient_ref(ref.get("reference") if isinstance(ref, dict) else None)
            if p:
                out.add(p)
    return tuple(sorted(out))


def patients_in_query(res_type: str | None, query: str | None) -> tuple[str, ...]:
    """Patients a search names in its parameters (patient=, subject=, Patient?_id=)."""
    if not query:
        return ()
    out: set[str] = set()
    for name, value in parse_qsl(query.lstrip("?"), keep_blank_values=False):
        if name not in PATIENT_PARAMS or (name == "_id" and res_type != "Patient"):
            continue
        for v in value.split(","):
            ref = v if "/" in v else f"Patient/{v}"
            p = patient_ref(ref)
            if p and (name != "subject" or v.startswith("Patient/")):
                out.add(p)
    return tuple(sorted(out))
