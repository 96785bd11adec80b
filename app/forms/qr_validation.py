"""QuestionnaireResponse validation against its Questionnaire.

Rules: https://hl7.org/fhir/R4/questionnaireresponse.html#validation (linkId structure, required,
repeats, answer types, answerOption / answerValueSet, enableWhen, status) and the SDC/core
extensions for lengths and ranges. Each problem is one Issue with a FHIRPath expression such as
`QuestionnaireResponse.item[0].item[2].answer[0]`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.fhir.errors import Issue
from app.forms.answers import CodeCheck, Membership, check_answer
from app.forms.enable_when import EnableState, children
from app.forms.questionnaire import NO_ANSWER_TYPES, index_items

# Statuses whose content must be complete (https://hl7.org/fhir/R4/valueset-questionnaire-answers-status.html).
COMPLETE_STATUSES = frozenset({"completed", "amended"})
ROOT = "QuestionnaireResponse"
_REF_TYPE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$")


def default_codes(url: str, system: str | None, code: str) -> Membership:
    """Membership in a ValueSet the server holds (the validator's terminology)."""
    from app.validation.hook import engine

    return engine().trees.tx.check(url, system, code)


@dataclass
class _Run:
    """One validation run."""

    questionnaire: dict[str, Any]
    index: dict[str, dict[str, Any]]
    state: EnableState
    complete: bool
    codes: CodeCheck
    issues: list[Issue] = field(default_factory=list)

    def error(self, code: str, text: str, path: str) -> None:
        """Record an error."""
        self.issues.append(Issue("error", code, text, (path,)))


def validate_response(
    response: dict[str, Any], questionnaire: dict[str, Any], *, codes: CodeCheck = default_codes
) -> list[Issue]:
    """All issues of a response against its (already resolved) Questionnaire."""
    index = index_items(questionnaire)
    run = _Run(
        questionnaire, index, EnableState(response, index), response.get("status") in COMPLETE_STATUSES, codes
    )
    _subject(run, questionnaire, response)
    _level(run, questionnaire.get("item") or [], response.get("item") or [], ROOT, [response], False)
    return run.issues


def _subject(run: _Run, questionnaire: dict[str, Any], response: dict[str, Any]) -> None:
    """The subject must be of a type the Questionnaire is for (Questionnaire.subjectType)."""
    allowed = questionnaire.get("subjectType") or []
    ref = str((response.get("subject") or {}).get("reference") or "")
    m = _REF_TYPE.search(ref)
    res_type = m.group(1) if m else ""
    if allowed and res_type and res_type not in allowed:
        run.error(
            "invalid", f"The Questionnaire is for {', '.join(allowed)}, not {res_type}", f"{ROOT}.subject"
        )


def _level(
    run: _Run,
    q_items: list[dict[str, Any]],
    r_items: list[dict[str, Any]],
    prefix: str,
    stack: list[dict[str, Any]],
    disabled: bool,
) -> None:
    """Check the items of one container against the Questionnaire items at the same level."""
    position = {q.get("linkId"): i for i, q in enumerate(q_items)}
    seen: Counter[str] = Counter()
    last = -1
    for i, item in enumerate(r_items):
        path, link = f"{prefix}.item[{i}]", str(item.get("linkId"))
        if link not in position:
            where = "is not at this level of" if link in run.index else "is not in"
            run.error("structure", f"Item '{link}' {where} the Questionnaire", f"{path}.linkId")
            continue
        q = q_items[position[link]]
        if position[link] < last:
            run.error("structure", f"Item '{link}' is out of the Questionnaire's order", path)
        last = max(last, position[link])
        seen[link] += 1
        if seen[link] > 1 and not (q.get("type") == "group" and q.get("repeats")):
            run.error(
                "structure",
                f"Item '{link}' appears more than once; it does not repeat"
                + ("" if q.get("type") == "group" else " (repeated answers go in one item)"),
                path,
            )
        _item(run, q, item, path, stack)
    if run.complete and not disabled:
        _missing(run, q_items, seen, prefix, stack)


def _missing(
    run: _Run, q_items: list[dict[str, Any]], seen: Counter[str], prefix: str, stack: list[dict[str, Any]]
) -> None:
    """Required, enabled items that are absent (only for completed responses)."""
    for q in q_items:
        link = str(q.get("linkId"))
        if (
            q.get("required")
            and q.get("type") != "display"
            and not seen[link]
            and (run.state.enabled(q, stack))
        ):
            run.error("required", f"Item '{link}' is required", prefix)


def _item(run: _Run, q: dict[str, Any], item: dict[str, Any], path: str, stack: list[dict[str, Any]]) -> None:
    """Check one response item (and its descendants)."""
    link, q_type = q.get("linkId"), q.get("type")
    inner = [*stack, item]
    if id(item) in run.state.disabled:
        if _has_answers(item):
            run.error(
                "business-rule",
                f"Item '{link}' is disabled by its enableWhen, so it must not be answered",
                f"{path}.answer[0]" if item.get("answer") else path,
            )
        return
    if q_type in NO_ANSWER_TYPES:
        if item.get("answer"):
            run.error(
                "structure", f"Item '{link}' is a {q_type} and cannot have answers", f"{path}.answer[0]"
            )
        if q_type == "display" and item.get("item"):
            run.error("structure", f"Display item '{link}' cannot have child items", f"{path}.item[0]")
        _level(run, q.get("item") or [], item.get("item") or [], path, inner, False)
        return
    if item.get("item"):
        run.error("structure", f"Children of question '{link}' belong in answer.item", f"{path}.item[0]")
    answers = item.get("answer") or []
    if len(answers) > 1 and not q.get("repeats"):
        run.error(
            "structure", f"Item '{link}' does not repeat but has {len(answers)} answers", f"{path}.answer[1]"
        )
    if not answers and q.get("required") and run.complete:
        run.error("required", f"Item '{link}' is required but has no answer", path)
    for j, answer in enumerate(answers):
        apath = f"{path}.answer[{j}]"
        run.issues.extend(check_answer(q, answer, apath, run.questionnaire, run.codes))
        if q.get("item") or answer.get("item"):
            _level(run, q.get("item") or [], answer.get("item") or [], apath, inner, False)


def _has_answers(node: dict[str, Any]) -> bool:
    """True when a node or any descendant carries an answer."""
    return bool(node.get("answer")) or any(_has_answers(c) for c in children(node))
