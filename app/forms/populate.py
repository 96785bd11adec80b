"""SDC $populate: a QuestionnaireResponse pre-filled from what Fellesplan knows about the patient.

Sources, in order per item (https://hl7.org/fhir/uv/sdc/populate.html): the SDC
`initialExpression` (FHIRPath over the launch context %patient, %kriseplan, %careTeam,
%relatedPersons), then the patient's current Kriseplan through the items' `definition`
(so a revision starts from the plan in force), then `item.initial`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from app.fhir.dates import format_instant, utcnow
from app.fhir.errors import Issue
from app.forms.kriseplan_form import PlanSource, suffix
from app.forms.patient_data import PatientData
from app.forms.questionnaire import INITIAL_EXPRESSION, ext_value

Answers = list[dict[str, Any]]


def populate_response(questionnaire: dict[str, Any], data: PatientData) -> tuple[dict[str, Any], list[Issue]]:
    """The pre-filled response (status in-progress) and any issues met on the way."""
    env = launch_context(data)
    source = PlanSource(data)
    issues: list[Issue] = []
    items = _items(questionnaire.get("item") or [], env, source, issues)
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": _canonical(questionnaire),
        "status": "in-progress",
        "subject": {"reference": data.reference, **({"display": data.display} if data.display else {})},
        "authored": format_instant(utcnow()),
    }
    plan = data.kriseplan
    if plan is not None:
        # The revision is based on this exact version; $extract turns it into a version-aware update.
        version = (plan.get("meta") or {}).get("versionId")
        ref = f"CarePlan/{plan['id']}" + (f"/_history/{version}" if version else "")
        response["basedOn"] = [{"reference": ref}]
    if items:
        response["item"] = items
    return response, issues


def launch_context(data: PatientData) -> dict[str, Any]:
    """FHIRPath variables for initialExpression (SDC launchContext names plus Fellesplan's own)."""
    return {
        "patient": data.patient,
        "kriseplan": data.kriseplan,
        "careTeam": data.care_teams[0] if data.care_teams else None,
        "relatedPersons": data.related_persons,
    }


def _canonical(questionnaire: dict[str, Any]) -> str:
    """url|version of the Questionnaire (or its local reference when it has no url)."""
    url = questionnaire.get("url")
    if not url:
        return f"Questionnaire/{questionnaire.get('id')}"
    version = questionnaire.get("version")
    return f"{url}|{version}" if version else str(url)


def _items(
    q_items: list[dict[str, Any]], env: dict[str, Any], source: PlanSource, issues: list[Issue]
) -> list[dict[str, Any]]:
    """Response items for one level (only items that got an answer, and groups holding them)."""
    out: list[dict[str, Any]] = []
    for q in q_items:
        base = {"linkId": q["linkId"], **({"text": q["text"]} if q.get("text") else {})}
        if q.get("type") == "display":
            continue
        if q.get("type") == "group":
            instances = source.instances(q)
            if instances is not None:
                out += [g for inst in instances if (g := _instance(q, inst, base))]
                continue
            children = _items(q.get("item") or [], env, source, issues)
            if children:
                out.append({**base, "item": children})
            continue
        answers = _expression(q, env, issues) or source.answers(q) or _initial(q)
        if answers:
            out.append({**base, "answer": answers[: None if q.get("repeats") else 1]})
    return out


def _instance(q: dict[str, Any], answers: dict[str, Answers], base: dict[str, Any]) -> dict[str, Any] | None:
    """One repeating-group instance from answers keyed by child linkId suffix."""
    children = []
    for child in q.get("item") or []:
        got = answers.get(suffix(str(child.get("linkId"))))
        if got:
            children.append(
                {
                    "linkId": child["linkId"],
                    **({"text": child["text"]} if child.get("text") else {}),
                    "answer": got,
                }
            )
    return {**base, "item": children} if children else None


def _initial(q: dict[str, Any]) -> Answers:
    """item.initial as answers."""
    return [{k: v for k, v in i.items() if k.startswith("value")} for i in q.get("initial") or []]


def _expression(q: dict[str, Any], env: dict[str, Any], issues: list[Issue]) -> Answers:
    """Evaluate the SDC initialExpression (FHIRPath) against the launch context."""
    found = ext_value(q, INITIAL_EXPRESSION)
    if found is None or not isinstance(found[1], dict):
        return []
    expression = found[1]
    if expression.get("language") not in (None, "text/fhirpath"):
        issues.append(
            Issue(
                "warning",
                "not-supported",
                f"initialExpression of '{q.get('linkId')}' is "
                f"in {expression.get('language')}; only FHIRPath is evaluated",
            )
        )
        return []
    try:
        from fhirpathpy import evaluate
        from fhirpathpy.models import models

        values = evaluate({}, str(expression.get("expression", "")), dict(env), models["r4"])
    except Exception as exc:  # a bad expression in a form must not fail the whole populate
        issues.append(
            Issue(
                "warning", "exception", f"initialExpression of '{q.get('linkId')}' failed: {str(exc)[:200]}"
            )
        )
        return []
    if q.get("type") in ("choice", "open-choice"):
        return [a for v in values if (a := _choice(q, v)) is not None]
    convert = _CONVERT.get(str(q.get("type")))
    return [a for v in values if convert and (a := convert(v)) is not None]


def _choice(q: dict[str, Any], value: Any) -> dict[str, Any] | None:
    """A choice answer: a Coding (first of a CodeableConcept), or a code matched against the options."""
    if isinstance(value, dict):
        coding = (value.get("coding") or [None])[0] if "coding" in value else value
        return {"valueCoding": coding} if isinstance(coding, dict) and coding.get("code") else None
    if isinstance(value, list):
        return None
    text = str(value)
    for option in q.get("answerOption") or []:
        if option.get("valueString") == text:
            return {"valueString": text}
        if (option.get("valueCoding") or {}).get("code") == text:
            return {"valueCoding": option["valueCoding"]}
    return {"valueString": text} if q.get("type") == "open-choice" else {"valueCoding": {"code": text}}


def _typed(key: str, cast: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any] | None]:
    """A converter from a FHIRPath result to an answer of one value type."""

    def convert(value: Any) -> dict[str, Any] | None:
        try:
            return {key: cast(value)}
        except (TypeError, ValueError, ArithmeticError):
            return None

    return convert


def _text(value: Any) -> str:
    """Primitive results only: a whole element is never turned into text."""
    if isinstance(value, dict | list):
        raise TypeError("not a primitive value")
    return str(value)


def _dict_or_none(value: Any) -> dict[str, Any]:
    """Complex values (Reference, Quantity, Attachment) pass as they are."""
    if not isinstance(value, dict):
        raise TypeError("not a complex value")
    return value


def _bool(value: Any) -> bool:
    """Only real booleans are booleans."""
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


_CONVERT: dict[str, Callable[[Any], dict[str, Any] | None]] = {
    "string": _typed("valueString", _text),
    "text": _typed("valueString", _text),
    "url": _typed("valueUri", _text),
    "boolean": _typed("valueBoolean", _bool),
    "integer": _typed("valueInteger", int),
    "decimal": _typed("valueDecimal", lambda v: Decimal(str(v))),
    "date": _typed("valueDate", lambda v: _text(v)[:10]),
    "dateTime": _typed("valueDateTime", _text),
    "time": _typed("valueTime", _text),
    "reference": _typed("valueReference", _dict_or_none),
    "quantity": _typed("valueQuantity", _dict_or_none),
    "attachment": _typed("valueAttachment", _dict_or_none),
}
