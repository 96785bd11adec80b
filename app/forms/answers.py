"""Checks of one answer against its Questionnaire item: type, options, value set, length, range.

https://hl7.org/fhir/R4/questionnaireresponse.html#validation and the core extensions minValue,
maxValue and minLength (https://hl7.org/fhir/R4/extensibility-registry.html).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from app.fhir.errors import Issue, Severity
from app.forms.enable_when import _equal
from app.forms.questionnaire import (
    ANSWER_KEYS,
    MAX_VALUE,
    MIN_LENGTH,
    MIN_VALUE,
    ext_value,
    value_key,
)

Membership = Literal["ok", "bad", "unknown"]
CodeCheck = Callable[[str, str | None, str], Membership]


def check_answer(
    q: dict[str, Any], answer: dict[str, Any], path: str, questionnaire: dict[str, Any], codes: CodeCheck
) -> list[Issue]:
    """Every problem of one answer (path is its FHIRPath, e.g. QuestionnaireResponse.item[0].answer[0])."""
    q_type = str(q.get("type"))
    link = q.get("linkId")
    key = value_key(answer)
    if key is None:
        return [Issue("error", "required", f"The answer to '{link}' has no value", (path,))]
    allowed = ANSWER_KEYS.get(q_type, frozenset())
    option_keys = {value_key(o) for o in q.get("answerOption") or []}
    if (
        q_type in ("choice", "open-choice")
        and key != "valueCoding"
        and key not in option_keys
        and not (q_type == "open-choice" and key == "valueString")
    ):
        allowed = frozenset()
    if key not in allowed:
        return [
            Issue(
                "error",
                "value",
                f"The answer to '{link}' (type {q_type}) cannot be a {key[5:]}",
                (f"{path}.{key}",),
            )
        ]
    value = answer[key]
    issues = _options(q, key, value, f"{path}.{key}")
    issues += _value_set(q, key, value, f"{path}.{key}", questionnaire, codes)
    issues += _length(q, key, value, f"{path}.{key}")
    issues += _range(q, key, value, f"{path}.{key}")
    return issues


def _options(q: dict[str, Any], key: str, value: Any, path: str) -> list[Issue]:
    """The answer must be one of answerOption (open-choice: or free text)."""
    options = q.get("answerOption") or []
    if not options or (q.get("type") == "open-choice" and key == "valueString"):
        return []
    if any(value_key(o) == key and _equal(value, o[key]) for o in options):
        return []
    severity: Severity = "warning" if q.get("type") == "open-choice" else "error"
    return [
        Issue(
            severity,
            "code-invalid",
            f"The answer to '{q.get('linkId')}' is not one of its answerOptions",
            (path,),
        )
    ]


def _value_set(
    q: dict[str, Any], key: str, value: Any, path: str, questionnaire: dict[str, Any], codes: CodeCheck
) -> list[Issue]:
    """A Coding answer must be in answerValueSet (contained '#id' or a ValueSet we hold)."""
    url = q.get("answerValueSet")
    if not url or key != "valueCoding" or not isinstance(value, dict):
        return []
    code = value.get("code")
    if not code:
        return [
            Issue("error", "code-invalid", f"The coded answer to '{q.get('linkId')}' has no code", (path,))
        ]
    result = (
        _contained_check(questionnaire, url[1:], value.get("system"), code)
        if url.startswith("#")
        else codes(url, value.get("system"), code)
    )
    link = q.get("linkId")
    if result == "bad":
        severity: Severity = "warning" if q.get("type") == "open-choice" else "error"
        return [
            Issue(
                severity,
                "code-invalid",
                f"The answer to '{link}' ({value.get('system')}#{code}) is not in {url}",
                (path,),
            )
        ]
    if result == "unknown":
        return [
            Issue(
                "warning", "not-found", f"The answer to '{link}' could not be checked against {url}", (path,)
            )
        ]
    return []


def _contained_check(questionnaire: dict[str, Any], vs_id: str, system: str | None, code: str) -> Membership:
    """Membership in a contained ValueSet given by enumerated concepts or an expansion."""
    vs = next(
        (
            c
            for c in questionnaire.get("contained") or []
            if c.get("resourceType") == "ValueSet" and c.get("id") == vs_id
        ),
        None,
    )
    if vs is None:
        return "unknown"
    pairs: set[tuple[str | None, str]] = set()
    complete = True
    for inc in (vs.get("compose") or {}).get("include") or []:
        if "concept" not in inc:
            complete = False
        pairs.update((inc.get("system"), c.get("code")) for c in inc.get("concept") or [])
    pairs.update((c.get("system"), c.get("code")) for c in (vs.get("expansion") or {}).get("contains") or [])
    if (system, code) in pairs or (system is None and any(c == code for _, c in pairs)):
        return "ok"
    return "bad" if complete else "unknown"


def _length(q: dict[str, Any], key: str, value: Any, path: str) -> list[Issue]:
    """item.maxLength and the minLength extension on string answers."""
    if key not in ("valueString", "valueUri") or not isinstance(value, str):
        return []
    link = q.get("linkId")
    max_len = q.get("maxLength")
    if isinstance(max_len, int) and len(value) > max_len:
        return [
            Issue(
                "error",
                "too-long",
                f"The answer to '{link}' is {len(value)} characters; at most {max_len} allowed",
                (path,),
            )
        ]
    min_len = ext_value(q, MIN_LENGTH)
    if min_len and isinstance(min_len[1], int) and len(value) < min_len[1]:
        return [
            Issue(
                "error", "value", f"The answer to '{link}' is shorter than {min_len[1]} characters", (path,)
            )
        ]
    return []


def _range(q: dict[str, Any], key: str, value: Any, path: str) -> list[Issue]:
    """The minValue / maxValue extensions (same value type as the answer)."""
    issues: list[Issue] = []
    for url, word, bad in ((MIN_VALUE, "at least", -1), (MAX_VALUE, "at most", 1)):
        bound = ext_value(q, url)
        if bound is None:
            continue
        cmp = compare(key, value, bound[0], bound[1])
        if cmp == bad:
            shown = bound[1].get("value") if isinstance(bound[1], dict) else bound[1]
            issues.append(
                Issue("error", "value", f"The answer to '{q.get('linkId')}' must be {word} {shown}", (path,))
            )
    return issues


def compare(key: str, value: Any, bound_key: str, bound: Any) -> int | None:
    """-1, 0 or 1 comparing an answer with a bound; None when they are not comparable."""
    if key == "valueQuantity" and bound_key == "valueQuantity":
        if (value.get("code") or value.get("unit")) != (bound.get("code") or bound.get("unit")):
            return None
        value, bound, key, bound_key = value.get("value"), bound.get("value"), "valueDecimal", "valueDecimal"
    numeric = ("valueInteger", "valueDecimal")
    if key in numeric and bound_key in numeric:
        a, b = Decimal(str(value)), Decimal(str(bound))
        return (a > b) - (a < b)
    temporal = ("valueDate", "valueDateTime", "valueTime")
    if key in temporal and bound_key in temporal and isinstance(value, str) and isinstance(bound, str):
        # Compare on the common precision; a partial date within the bound's period is not outside.
        n = min(len(value), len(bound), 10 if "T" not in value + bound else 19)
        return (value[:n] > bound[:n]) - (value[:n] < bound[:n])
    return None
