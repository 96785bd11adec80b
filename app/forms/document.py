"""A CarePlan as a FHIR document Bundle (https://hl7.org/fhir/R4/documents.html).

Composition first, then the plan and every resource it references that the reader may see, so an
EHR can archive it or send it on. Composition.type is Volven 9602: A01-2 Kriseplan, A02-2 IP.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.fhir.dates import format_instant, utcnow
from app.fhir.errors import Unprocessable
from app.fhir.models import ValidationError, validate
from app.forms.narrative import STATUS_NB, VOLVEN_9602, is_redacted, plan_kind, render_careplan_narrative
from app.forms.xhtml import el, root, text

_DOC_TYPE = {"kriseplan": ("A01-2", "Kriseplan"), "individuell-plan": ("A02-2", "Individuell plan")}
_NS = uuid.UUID("6f1b8a52-58b8-4d5e-9a39-5b3f2b0e7c11")  # names documents of a plan version
# Which elements of a CarePlan point at resources worth carrying in the document.
_REF_PATHS: tuple[tuple[str, ...], ...] = (
    ("subject",),
    ("author",),
    ("contributor",),
    ("careTeam",),
    ("goal",),
    ("activity", "detail", "performer"),
    ("extension", "valueReference"),
)


def referenced(careplan: dict[str, Any]) -> list[str]:
    """'Type/id' references the plan makes (contained and external URLs excluded), in order."""
    out: list[str] = []
    for path in _REF_PATHS:
        for node in _values(careplan, path):
            ref = node.get("reference") if isinstance(node, dict) else None
            if isinstance(ref, str) and ref.count("/") == 1 and not ref.startswith("#") and ref not in out:
                out.append(ref)
    return out


def _values(node: Any, path: tuple[str, ...]) -> list[Any]:
    """All values at a path (lists flattened)."""
    if not path:
        return node if isinstance(node, list) else [node]
    items = node if isinstance(node, list) else [node]
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict) and path[0] in item:
            out += _values(item[path[0]], path[1:])
    return out


def document_bundle(careplan: dict[str, Any], others: list[dict[str, Any]], base: str) -> dict[str, Any]:
    """The document Bundle for one stored plan version and the resources it references."""
    kind = plan_kind(careplan)
    code, display = _DOC_TYPE.get(kind, ("", "Plan"))
    version = str((careplan.get("meta") or {}).get("versionId", ""))
    doc_id = uuid.uuid5(_NS, f"CarePlan/{careplan['id']}/_history/{version}")
    plan_url = f"{base}/CarePlan/{careplan['id']}"
    composition = _composition(careplan, str(doc_id), code, display, plan_url)
    entries = [
        {"fullUrl": f"urn:uuid:{doc_id}", "resource": composition},
        {"fullUrl": plan_url, "resource": careplan},
    ]
    entries += [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in others]
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "document",
        "timestamp": format_instant(utcnow()),
        "entry": entries,
    }
    try:
        validate("Bundle", bundle)
    except ValidationError as exc:  # a stored plan always fits; this guards the builder itself
        raise Unprocessable(f"The document could not be built: {str(exc)[:300]}") from None
    return bundle


def _composition(cp: dict[str, Any], doc_id: str, code: str, display: str, plan_url: str) -> dict[str, Any]:
    """The Composition: type, subject, author, and one section holding the plan and its narrative."""
    title = str(cp.get("title") or display)
    type_cc: dict[str, Any] = (
        {"coding": [{"system": VOLVEN_9602, "code": code, "display": display}]} if code else {"text": display}
    )
    authors = [cp["author"]] if cp.get("author") else [{"display": "Fellesplan"}]
    comp: dict[str, Any] = {
        "resourceType": "Composition",
        "id": doc_id,
        "text": {"status": "generated", "div": root(el("p", text(_doc_title(cp, display))))},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{doc_id}"},
        "status": "preliminary" if cp.get("status") == "draft" else "final",
        "type": type_cc,
        "subject": cp.get("subject") or {"display": "Ukjent"},
        "date": (cp.get("meta") or {}).get("lastUpdated") or format_instant(utcnow()),
        "author": authors,
        "title": title,
        # Health data about substance use and mental health: restricted (v3-Confidentiality R).
        "confidentiality": "R",
        "section": [
            {
                "title": title,
                "code": type_cc,
                "text": render_careplan_narrative(cp, redacted=is_redacted(cp)),
                "entry": [{"reference": plan_url}],
            }
        ],
    }
    comp["section"][0]["text"].pop("id", None)
    return comp


def _doc_title(cp: dict[str, Any], display: str) -> str:
    """'Kriseplan for Kari Nordmann (aktiv, versjon 3)'."""
    who = (cp.get("subject") or {}).get("display")
    version = (cp.get("meta") or {}).get("versionId")
    status = STATUS_NB.get(str(cp.get("status")), str(cp.get("status")))
    return (
        f"{display}"
        + (f" for {who}" if who else "")
        + f" ({status}"
        + (f", versjon {version})" if version else ")")
    )
