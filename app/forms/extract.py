"""SDC definition-based $extract: a kriseplan-skjema response becomes a Kriseplan CarePlan.

https://hl7.org/fhir/uv/sdc/extraction.html#definition-based-extraction. The result is a
transaction Bundle: the CarePlan (a version-aware PUT when the response is based on an existing
plan, else a POST) and a Provenance linking it to the response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from app.fhir.dates import format_instant, utcnow
from app.fhir.errors import Issue
from app.forms.enable_when import children
from app.forms.kriseplan_form import (
    KRISEPLAN_URL,
    NO_CHILDREN,
    REVISJONSDATO_URL,
    suffix,
    target,
)
from app.forms.narrative import KRISEPLAN_SECTIONS, PLANTYPE, SEKSJON, VOLVEN_9602, ensure_narrative
from app.forms.parties import compose_duties
from app.forms.patient_data import PatientData
from app.forms.performers import Linker
from app.forms.questionnaire import first_value, index_items

_LABELS = dict(KRISEPLAN_SECTIONS)
# Answers without a definition that still shape the plan (gates of optional sections).
_GATES = frozenset({"barn-og-dyr.har", "voldsrisiko.aktuelt"})
_NOT_IN_PLAN = {
    "parorende.samtykke": "record the patient's consent for next of kin as a Consent (samtykke profile)",
}


@dataclass
class Section:
    """The answers of one plan section."""

    code: dict[str, Any]
    text: str | None = None
    people: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Answers:
    """What a response says, gathered by mapping target."""

    start: str | None = None
    review: str | None = None
    sections: dict[str, Section] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Extracted:
    """The CarePlan, and the stored version it revises (id, version) if any."""

    careplan: dict[str, Any]
    revises: tuple[str, str] | None


def gather(response: dict[str, Any], questionnaire: dict[str, Any]) -> Answers:
    """Walk the response and collect answers by their Questionnaire item's definition."""
    index = index_items(questionnaire)
    out = Answers()
    stack = list(response.get("item") or [])
    while stack:
        item = stack.pop(0)
        q = index.get(str(item.get("linkId")))
        t = target(q) if q is not None else None
        if t is None or t.kind != "performers":  # a performer's parts are read with it, below
            stack.extend(children(item))
        if q is None or t is None:
            continue
        value = first_value(item.get("answer") or [])
        if t.kind in ("section", "description", "performers"):
            section = out.sections.setdefault(t.section, Section(_section_code(q, index, t.section)))
            if t.kind == "description" and value is not None:
                section.text = str(value)
            elif t.kind == "performers":
                section.people.append(
                    {
                        suffix(str(c.get("linkId"))): first_value(c.get("answer") or [])
                        for c in item.get("item") or []
                    }
                )
        elif t.kind == "start":
            out.start = value
        elif t.kind == "review":
            out.review = value
        elif value is not None:
            out.flags[str(q.get("linkId"))] = value
    return out


def unmapped_issues(response: dict[str, Any], questionnaire: dict[str, Any]) -> list[Issue]:
    """A note for every answer that does not become part of the plan (nothing is dropped silently)."""
    out = []
    for link in gather(response, questionnaire).flags:
        if link not in _GATES:
            advice = _NOT_IN_PLAN.get(link, "it has no place in a Kriseplan")
            out.append(
                Issue(
                    "information",
                    "informational",
                    f"The answer to '{link}' is not part of the extracted CarePlan: {advice}.",
                )
            )
    return out


def _section_code(q: dict[str, Any], index: dict[str, dict[str, Any]], section: str) -> dict[str, Any]:
    """The section's coding: from the section group's code, else the slice name."""
    for item in index.values():
        if target(item).kind == "section" and target(item).section == section:
            for coding in item.get("code") or []:
                if coding.get("system") == SEKSJON:
                    return {k: coding[k] for k in ("system", "code", "display") if k in coding}
    return {"system": SEKSJON, "code": section, "display": _LABELS.get(section, section)}


def build_careplan(
    response: dict[str, Any], questionnaire: dict[str, Any], data: PatientData, author: dict[str, Any]
) -> Extracted:
    """The Kriseplan the response describes (narrative included)."""
    answers = gather(response, questionnaire)
    active = response.get("status") in ("completed", "amended")
    linker = Linker(data, data.reference)
    plan: dict[str, Any] = {"resourceType": "CarePlan", "meta": {"profile": [KRISEPLAN_URL]}}
    if answers.review:
        plan["extension"] = [{"url": REVISJONSDATO_URL, "valueDate": answers.review}]
    plan.update(
        {
            "status": "active" if active else "draft",
            "intent": "plan",
            "category": [
                {"coding": [{"system": VOLVEN_9602, "code": "A01-2", "display": "Kriseplan"}]},
                {"coding": [{"system": PLANTYPE, "code": "kriseplan", "display": "Kriseplan"}]},
            ],
            "title": "Kriseplan",
            "subject": {"reference": data.reference, **({"display": data.display} if data.display else {})},
        }
    )
    if answers.start:
        plan["period"] = {"start": answers.start}
    revises = _revises(response)
    created = _created(response, data, revises)
    if created:
        plan["created"] = created
    plan["author"] = author
    plan["contributor"] = _contributors(data, author, response.get("source"))
    plan["activity"] = _activities(answers, linker, "in-progress" if active else "not-started")
    if linker.contained:
        plan["contained"] = linker.contained
    if revises is not None:
        plan["id"] = revises[0]
    ensure_narrative("CarePlan", plan)
    return Extracted(_ordered(plan), revises)


def _created(response: dict[str, Any], data: PatientData, revises: tuple[str, str] | None) -> str | None:
    """When the plan was first made: kept from the plan a revision updates, else the form's date."""
    current = data.kriseplan
    if (
        revises is not None
        and current is not None
        and current.get("id") == revises[0]
        and current.get("created")
    ):
        return str(current["created"])
    return str(response["authored"])[:10] if response.get("authored") else None


def _activities(answers: Answers, linker: Linker, status: str) -> list[dict[str, Any]]:
    """One activity per answered section, in the crisis plan's fixed order."""
    out = []
    for code, _label in KRISEPLAN_SECTIONS:
        section = answers.sections.get(code)
        text = section.text if section else None
        if code == "barn-og-dyr" and answers.flags.get("barn-og-dyr.har") is False:
            text = NO_CHILDREN
        if code == "voldsrisiko" and answers.flags.get("voldsrisiko.aktuelt") is not True:
            continue
        if section is None or not text:
            continue
        people = [p for p in section.people if p.get("navn")]
        if code == "tjenesteansvar":
            text = compose_duties(text, [(str(p["navn"]), str(p.get("ansvar") or "")) for p in people])
        detail: dict[str, Any] = {"code": {"coding": [section.code]}, "status": status, "description": text}
        performers = [linker.contact(p) if code == "kontakter" else linker.service(p) for p in people]
        if performers:
            detail["performer"] = performers
        out.append({"detail": detail})
    return out


def _contributors(data: PatientData, author: dict[str, Any], source: Any) -> list[dict[str, Any]]:
    """The patient, the author and whoever answered, once each."""
    out: list[dict[str, Any]] = []
    for ref in ({"reference": data.reference}, author, source):
        if (
            isinstance(ref, dict)
            and ref.get("reference")
            and all(r.get("reference") != ref["reference"] for r in out)
        ):
            out.append({"reference": ref["reference"]})
    return out


def _revises(response: dict[str, Any]) -> tuple[str, str] | None:
    """(id, version) of the CarePlan the response was populated from (QuestionnaireResponse.basedOn)."""
    for ref in response.get("basedOn") or []:
        parts = str(ref.get("reference") or "").split("/")
        if len(parts) >= 2 and parts[0] == "CarePlan":
            return parts[1], parts[3] if len(parts) == 4 and parts[2] == "_history" else ""
    return None


def _ordered(plan: dict[str, Any]) -> dict[str, Any]:
    """Elements in the order of the resource definition (readable JSON)."""
    order = [
        "resourceType",
        "id",
        "meta",
        "text",
        "contained",
        "extension",
        "status",
        "intent",
        "category",
        "title",
        "subject",
        "period",
        "created",
        "author",
        "contributor",
        "activity",
    ]
    return {k: plan[k] for k in order if k in plan}


DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def transaction(
    extracted: Extracted, response_ref: dict[str, Any], author: dict[str, Any], base: str
) -> dict[str, Any]:
    """A transaction Bundle: the CarePlan and a Provenance pointing back at the response."""
    if extracted.revises is not None:
        plan_id, version = extracted.revises
        full_url, target_ref = f"{base}/CarePlan/{plan_id}", f"CarePlan/{plan_id}"
        # Version-aware: a plan changed since the form was populated makes the transaction fail (412).
        request = {"method": "PUT", "url": target_ref, **({"ifMatch": f'W/"{version}"'} if version else {})}
    else:
        full_url = target_ref = f"urn:uuid:{uuid.uuid4()}"
        request = {"method": "POST", "url": "CarePlan"}
    provenance = _provenance(extracted, target_ref, response_ref, author)
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": full_url, "resource": extracted.careplan, "request": request},
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": provenance,
                "request": {"method": "POST", "url": "Provenance"},
            },
        ],
    }


def _provenance(
    extracted: Extracted, target_ref: str, response_ref: dict[str, Any], author: dict[str, Any]
) -> dict[str, Any]:
    """Provenance of the plan: made from the response, revising the version it was populated from."""
    entities: list[dict[str, Any]] = [{"role": "source", "what": response_ref}]
    if extracted.revises is not None and extracted.revises[1]:
        plan_id, version = extracted.revises
        entities.append({"role": "revision", "what": {"reference": f"CarePlan/{plan_id}/_history/{version}"}})
    return {
        "resourceType": "Provenance",
        "target": [{"reference": target_ref}],
        "recorded": format_instant(utcnow()),
        "activity": {
            "coding": [{"system": DATA_OPERATION, "code": "UPDATE" if extracted.revises else "CREATE"}]
        },
        "agent": [{"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author"}]}, "who": author}],
        "entity": entities,
    }
