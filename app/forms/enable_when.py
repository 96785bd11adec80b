"""enableWhen / enableBehavior evaluation over a QuestionnaireResponse.

https://hl7.org/fhir/R4/questionnaire-definitions.html#Questionnaire.item.enableWhen: a question
is answered by the nearest instance of the source item (same repeating-group instance first), and
an item that is itself disabled counts as unanswered, so enablement is computed to a fixpoint.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.forms.questionnaire import value_key

Node = dict[str, Any]


def children(node: Node) -> list[Node]:
    """The child items of a response node: item.item and answer[].item (the root has item)."""
    out: list[Node] = list(node.get("item") or [])
    for answer in node.get("answer") or []:
        out.extend(answer.get("item") or [])
    return out


class EnableState:
    """Which response item instances are disabled (by object identity)."""

    def __init__(self, response: Node, index: dict[str, Node]) -> None:
        self.response = response
        self.index = index
        self.disabled: set[int] = set()
        limit = len(index) + 2
        for _ in range(limit):  # each round can only settle dependents of the previous one
            new: set[int] = set()
            self._mark(children(response), [response], False, new)
            if new == self.disabled:
                break
            self.disabled = new

    def _mark(self, items: list[Node], stack: list[Node], parent_off: bool, out: set[int]) -> None:
        """Collect disabled instances under a container."""
        for item in items:
            q = self.index.get(str(item.get("linkId")))
            off = parent_off or (q is not None and not self.enabled(q, stack))
            if off:
                out.add(id(item))
            self._mark(children(item), [*stack, item], off, out)

    def enabled(self, q_item: Node, stack: list[Node]) -> bool:
        """Is this Questionnaire item enabled in the context of these response ancestors?"""
        conditions = q_item.get("enableWhen") or []
        if not conditions:
            return True
        results = (condition_holds(c, self.answers_for(str(c.get("question")), stack)) for c in conditions)
        return any(results) if q_item.get("enableBehavior") == "any" else all(results)

    def answers_for(self, link_id: str, stack: list[Node]) -> list[Node]:
        """Answers of the nearest enabled instance(s) of a question, searching outwards."""
        for node in reversed(stack):
            found, answers = self._find(children(node), link_id)
            if found:
                return answers
        return []

    def _find(self, items: list[Node], link_id: str) -> tuple[bool, list[Node]]:
        """(found, answers) for a linkId below these items, skipping disabled instances."""
        found, answers = False, list[Node]()
        for item in items:
            if id(item) in self.disabled:
                continue
            if item.get("linkId") == link_id:
                found = True
                answers.extend(item.get("answer") or [])
            sub_found, sub = self._find(children(item), link_id)
            found, answers = found or sub_found, answers + sub
        return found, answers


def condition_holds(cond: Node, answers: list[Node]) -> bool:
    """One enableWhen condition (https://hl7.org/fhir/R4/valueset-questionnaire-enable-operator.html)."""
    op = cond.get("operator")
    key = value_key(cond)
    if op == "exists":
        return bool(answers) == bool(cond.get("answerBoolean"))
    if key is None:
        return False
    target = cond[key]
    values = [a[k] for a in answers if (k := value_key(a)) == "value" + key[6:]]
    if op == "=":
        return any(_equal(v, target) for v in values)
    if op == "!=":
        return not any(_equal(v, target) for v in values)
    return any(_ordered(op, v, target) for v in values)


def _equal(value: Any, target: Any) -> bool:
    """Equality of answer values (Coding by system and code, Quantity by value and unit)."""
    if isinstance(value, dict) and isinstance(target, dict):
        if "code" in target or "code" in value:
            same_system = (
                not value.get("system")
                or not target.get("system")
                or (value.get("system") == target.get("system"))
            )
            return same_system and value.get("code") == target.get("code")
        if "value" in target:
            return _num(value.get("value")) == _num(target.get("value")) and (
                value.get("code") or value.get("unit")
            ) == (target.get("code") or target.get("unit"))
        return bool(value.get("reference")) and value.get("reference") == target.get("reference")
    if isinstance(value, int | float | Decimal) and isinstance(target, int | float | Decimal):
        return bool(_num(value) == _num(target))
    return bool(value == target)  # primitives: str, bool, int


def _ordered(op: str | None, value: Any, target: Any) -> bool:
    """>, <, >=, <= on numbers, dates and times (Quantity by value)."""
    if isinstance(value, dict):
        value, target = value.get("value"), target.get("value") if isinstance(target, dict) else None
    try:
        a, b = (_num(value), _num(target)) if not isinstance(value, str) else (value, target)
        if op == ">":
            return bool(a > b)
        if op == "<":
            return bool(a < b)
        if op == ">=":
            return bool(a >= b)
        if op == "<=":
            return bool(a <= b)
    except TypeError:
        return False
    return False


def _num(value: Any) -> Any:
    """A number as Decimal for exact comparison; other values unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value
