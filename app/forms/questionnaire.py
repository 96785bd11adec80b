"""Questionnaire reading helpers shared by validation, populate and extract.

See https://hl7.org/fhir/R4/questionnaire.html and SDC (https://hl7.org/fhir/uv/sdc/).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
CORE_EXT = "http://hl7.org/fhir/StructureDefinition/"
MIN_VALUE = CORE_EXT + "minValue"
MAX_VALUE = CORE_EXT + "maxValue"
MIN_LENGTH = CORE_EXT + "minLength"
INITIAL_EXPRESSION = SDC + "sdc-questionnaire-initialExpression"
HIDDEN = CORE_EXT + "questionnaire-hidden"

# The answer value[x] keys each item type accepts (https://hl7.org/fhir/R4/valueset-item-type.html).
# choice also accepts the primitive option types of answerOption (R4 Questionnaire.item.answerOption).
ANSWER_KEYS: dict[str, frozenset[str]] = {
    "boolean": frozenset({"valueBoolean"}),
    "decimal": frozenset({"valueDecimal"}),
    "integer": frozenset({"valueInteger"}),
    "date": frozenset({"valueDate"}),
    "dateTime": frozenset({"valueDateTime"}),
    "time": frozenset({"valueTime"}),
    "string": frozenset({"valueString"}),
    "text": frozenset({"valueString"}),
    "url": frozenset({"valueUri"}),
    "choice": frozenset(
        {"valueCoding", "valueString", "valueInteger", "valueDate", "valueTime", "valueReference"}
    ),
    "open-choice": frozenset(
        {"valueCoding", "valueString", "valueInteger", "valueDate", "valueTime", "valueReference"}
    ),
    "attachment": frozenset({"valueAttachment"}),
    "reference": frozenset({"valueReference"}),
    "quantity": frozenset({"valueQuantity"}),
}
NO_ANSWER_TYPES = frozenset({"group", "display"})


def value_key(obj: dict[str, Any]) -> str | None:
    """The value[x] key present in an answer, option, initial or enableWhen (answer[x])."""
    for key in obj:
        if (
            (key.startswith("value") or key.startswith("answer"))
            and key not in ("answerOption", "answerValueSet")
            and len(key) > 6
            and key[6 if key.startswith("answer") else 5].isupper()
        ):
            return key
    return None


def extension(item: dict[str, Any], url: str) -> dict[str, Any] | None:
    """The first extension with this url."""
    for ext in item.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


def ext_value(item: dict[str, Any], url: str) -> tuple[str, Any] | None:
    """(value[x] key, value) of the first extension with this url."""
    ext = extension(item, url)
    if ext is None:
        return None
    key = value_key(ext)
    return (key, ext[key]) if key else None


def walk_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every item, depth first."""
    for item in items:
        yield item
        yield from walk_items(item.get("item") or [])


def index_items(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Questionnaire items by linkId (first wins; duplicates are a Questionnaire error)."""
    out: dict[str, dict[str, Any]] = {}
    for item in walk_items(questionnaire.get("item") or []):
        link = item.get("linkId")
        if isinstance(link, str) and link not in out:
            out[link] = item
    return out


def split_canonical(canonical: str) -> tuple[str, str | None]:
    """(url, version) of a canonical reference."""
    url, _, version = canonical.partition("|")
    return url, version or None


def response_answers(items: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(item, answer) pairs in a QuestionnaireResponse tree, depth first (answers' items too)."""
    for item in items:
        for answer in item.get("answer") or []:
            yield item, answer
            yield from response_answers(answer.get("item") or [])
        yield from response_answers(item.get("item") or [])


def answers_by_link(response: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every answer in a response, grouped by linkId."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item, answer in response_answers(response.get("item") or []):
        out.setdefault(str(item.get("linkId")), []).append(answer)
    return out


def first_value(answers: list[dict[str, Any]]) -> Any:
    """The value of the first answer (None when unanswered)."""
    for answer in answers:
        key = value_key(answer)
        if key:
            return answer[key]
    return None
