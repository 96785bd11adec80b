"""QuestionnaireResponse against Questionnaire: every rule with a failing and a passing example."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.fhir.errors import Issue
from app.forms.qr_validation import validate_response
from tests.forms.factories import answer_item, question, questionnaire, response

EXT = "http://hl7.org/fhir/StructureDefinition/"


def errors(issues: list[Issue]) -> list[Issue]:
    """Only the blocking issues."""
    return [i for i in issues if i.severity in ("error", "fatal")]


def expressions(issues: list[Issue]) -> list[str]:
    """Every expression of the errors."""
    return [e for i in errors(issues) for e in i.expression]


def check(q: dict[str, Any], *items: dict[str, Any], status: str = "completed") -> list[Issue]:
    """Validate a response made of items against q."""
    return validate_response(response(q, *items, status=status), q)


# -- linkId structure ---------------------------------------------------------------------------


def test_unknown_link_id_is_an_error() -> None:
    q = questionnaire(question("a", "string"))
    assert expressions(check(q, answer_item("zz", {"valueString": "x"}))) == [
        "QuestionnaireResponse.item[0].linkId"
    ]
    assert errors(check(q, answer_item("a", {"valueString": "x"}))) == []


def test_item_at_the_wrong_level_is_an_error() -> None:
    q = questionnaire(question("g", "group", item=[question("g.a", "string")]))
    issues = check(q, answer_item("g.a", {"valueString": "x"}))
    assert "not at this level" in errors(issues)[0].diagnostics
    assert errors(check(q, {"linkId": "g", "item": [answer_item("g.a", {"valueString": "x"})]})) == []


def test_items_out_of_order_are_an_error() -> None:
    q = questionnaire(question("a", "string"), question("b", "string"))
    issues = check(q, answer_item("b", {"valueString": "x"}), answer_item("a", {"valueString": "y"}))
    assert expressions(issues) == ["QuestionnaireResponse.item[1]"]


def test_a_question_appears_once_even_when_it_repeats() -> None:
    q = questionnaire(question("a", "string", repeats=True))
    issues = check(q, answer_item("a", {"valueString": "x"}), answer_item("a", {"valueString": "y"}))
    assert expressions(issues) == ["QuestionnaireResponse.item[1]"]
    assert errors(check(q, answer_item("a", {"valueString": "x"}, {"valueString": "y"}))) == []


def test_only_repeating_groups_appear_more_than_once() -> None:
    child = [question("g.a", "string")]
    group = {"linkId": "g", "item": [answer_item("g.a", {"valueString": "x"})]}
    once = questionnaire(question("g", "group", item=child))
    assert expressions(check(once, group, group)) == ["QuestionnaireResponse.item[1]"]
    many = questionnaire(question("g", "group", repeats=True, item=child))
    assert errors(check(many, group, group)) == []


def test_children_of_a_question_belong_under_its_answer() -> None:
    q = questionnaire(question("a", "boolean", item=[question("a.b", "string")]))
    nested_wrong = answer_item("a", {"valueBoolean": True}, item=[answer_item("a.b", {"valueString": "x"})])
    assert expressions(check(q, nested_wrong)) == ["QuestionnaireResponse.item[0].item[0]"]
    right = answer_item("a", {"valueBoolean": True, "item": [answer_item("a.b", {"valueString": "x"})]})
    assert errors(check(q, right)) == []


def test_groups_and_display_items_have_no_answers() -> None:
    q = questionnaire(question("g", "group", item=[question("g.a", "string")]), question("d", "display"))
    issues = check(q, answer_item("g", {"valueString": "x"}), answer_item("d", {"valueString": "x"}))
    assert expressions(issues) == [
        "QuestionnaireResponse.item[0].answer[0]",
        "QuestionnaireResponse.item[1].answer[0]",
    ]


# -- required, repeats and status ---------------------------------------------------------------


def test_required_item_missing_from_a_completed_response() -> None:
    q = questionnaire(
        question(
            "g",
            "group",
            required=True,
            item=[question("g.a", "string", required=True), question("g.b", "string")],
        )
    )
    issues = check(q, {"linkId": "g", "item": [answer_item("g.b", {"valueString": "x"})]})
    assert expressions(issues) == ["QuestionnaireResponse.item[0]"]
    assert "g.a" in errors(issues)[0].diagnostics
    assert [i.code for i in errors(check(q))] == ["required"]


@pytest.mark.parametrize("status", ["in-progress", "stopped", "entered-in-error"])
def test_incomplete_statuses_need_not_satisfy_required(status: str) -> None:
    q = questionnaire(question("a", "string", required=True))
    assert errors(check(q, status=status)) == []


def test_amended_responses_must_satisfy_required() -> None:
    q = questionnaire(question("a", "string", required=True))
    assert [i.code for i in errors(check(q, status="amended"))] == ["required"]


def test_required_question_present_without_answer() -> None:
    q = questionnaire(question("a", "string", required=True))
    assert expressions(check(q, {"linkId": "a"})) == ["QuestionnaireResponse.item[0]"]


def test_required_child_of_an_absent_optional_group_is_not_needed() -> None:
    q = questionnaire(
        question("a", "string"), question("g", "group", item=[question("g.a", "string", required=True)])
    )
    assert errors(check(q, answer_item("a", {"valueString": "x"}))) == []


def test_non_repeating_question_with_two_answers() -> None:
    q = questionnaire(question("a", "string"))
    assert expressions(check(q, answer_item("a", {"valueString": "x"}, {"valueString": "y"}))) == [
        "QuestionnaireResponse.item[0].answer[1]"
    ]


def test_answer_without_a_value() -> None:
    q = questionnaire(question("a", "string"))
    assert expressions(check(q, answer_item("a", {}))) == ["QuestionnaireResponse.item[0].answer[0]"]


# -- answer types -------------------------------------------------------------------------------

GOOD: dict[str, dict[str, Any]] = {
    "boolean": {"valueBoolean": True},
    "decimal": {"valueDecimal": 1.5},
    "integer": {"valueInteger": 2},
    "date": {"valueDate": "2026-11-01"},
    "dateTime": {"valueDateTime": "2026-11-01T10:00:00Z"},
    "time": {"valueTime": "10:00:00"},
    "string": {"valueString": "x"},
    "text": {"valueString": "x\ny"},
    "url": {"valueUri": "https://example.org"},
    "choice": {"valueCoding": {"code": "a"}},
    "open-choice": {"valueString": "annet"},
    "attachment": {"valueAttachment": {"title": "a"}},
    "reference": {"valueReference": {"reference": "Patient/p"}},
    "quantity": {"valueQuantity": {"value": 70, "unit": "kg"}},
}


@pytest.mark.parametrize("q_type", sorted(GOOD))
def test_each_item_type_takes_its_answer_type(q_type: str) -> None:
    q = questionnaire(question("a", q_type))
    assert errors(check(q, answer_item("a", GOOD[q_type]))) == []
    wrong = {"valueInteger": 1} if q_type not in ("integer",) else {"valueString": "1"}
    issues = check(q, answer_item("a", wrong))
    assert [i.code for i in errors(issues)] == ["value"], issues
    assert errors(issues)[0].expression[0].startswith("QuestionnaireResponse.item[0].answer[0].value")


def test_choice_accepts_primitive_types_only_when_its_options_use_them() -> None:
    q = questionnaire(question("a", "choice", answerOption=[{"valueString": "ja"}, {"valueString": "nei"}]))
    assert errors(check(q, answer_item("a", {"valueString": "ja"}))) == []
    coded = questionnaire(question("a", "choice", answerOption=[{"valueCoding": {"code": "ja"}}]))
    assert [i.code for i in errors(check(coded, answer_item("a", {"valueString": "ja"})))] == ["value"]


# -- answerOption and answerValueSet ------------------------------------------------------------


def test_choice_answer_outside_its_options() -> None:
    q = questionnaire(question("a", "choice", answerOption=[{"valueCoding": {"system": "s", "code": "F"}}]))
    issues = check(q, answer_item("a", {"valueCoding": {"system": "s", "code": "f"}}))
    assert [(i.code, i.expression) for i in errors(issues)] == [
        ("code-invalid", ("QuestionnaireResponse.item[0].answer[0].valueCoding",))
    ]
    assert errors(check(q, answer_item("a", {"valueCoding": {"system": "s", "code": "F"}}))) == []
    other_system = check(q, answer_item("a", {"valueCoding": {"system": "t", "code": "F"}}))
    assert errors(other_system)


def test_open_choice_allows_free_text_and_warns_on_unknown_codes() -> None:
    q = questionnaire(question("a", "open-choice", answerOption=[{"valueCoding": {"code": "x"}}]))
    assert check(q, answer_item("a", {"valueString": "noe annet"})) == []
    issues = check(q, answer_item("a", {"valueCoding": {"code": "y"}}))
    assert errors(issues) == [] and [i.severity for i in issues] == ["warning"]


def test_answer_value_set_contained() -> None:
    vs = {
        "resourceType": "ValueSet",
        "id": "vs",
        "status": "active",
        "compose": {"include": [{"system": "s", "concept": [{"code": "1"}, {"code": "2"}]}]},
    }
    q = questionnaire(question("a", "choice", answerValueSet="#vs"), contained=[vs])
    assert errors(check(q, answer_item("a", {"valueCoding": {"system": "s", "code": "2"}}))) == []
    assert [
        i.code for i in errors(check(q, answer_item("a", {"valueCoding": {"system": "s", "code": "9"}})))
    ] == ["code-invalid"]


def test_answer_value_set_held_by_the_server() -> None:
    vs = "https://fellesplan.no/fhir/ValueSet/parorende-relasjon"
    q = questionnaire(question("a", "choice", answerValueSet=vs))
    good = {"valueCoding": {"system": "urn:oid:2.16.578.1.12.4.1.1.9033", "code": "BR"}}
    assert errors(check(q, answer_item("a", good))) == []
    bad = {"valueCoding": {"system": "urn:oid:2.16.578.1.12.4.1.1.9033", "code": "XX"}}
    assert [i.code for i in errors(check(q, answer_item("a", bad)))] == ["code-invalid"]


def test_unknown_value_set_is_a_warning_not_an_error() -> None:
    q = questionnaire(question("a", "choice", answerValueSet="https://example.org/ValueSet/unknown"))
    issues = check(q, answer_item("a", {"valueCoding": {"system": "s", "code": "1"}}))
    assert errors(issues) == [] and [i.code for i in issues] == ["not-found"]


# -- enableWhen ----------------------------------------------------------------------------------


def _gated(operator: str, **answer: Any) -> dict[str, Any]:
    """A Questionnaire where 'b' is enabled by a condition on 'a'."""
    cond = {"question": "a", "operator": operator, **answer}
    return questionnaire(question("a", "integer"), question("b", "string", enableWhen=[cond]))


@pytest.mark.parametrize(
    ("operator", "target", "value", "enabled"),
    [
        ("=", 3, 3, True),
        ("=", 3, 4, False),
        ("!=", 3, 4, True),
        ("!=", 3, 3, False),
        (">", 3, 4, True),
        (">", 3, 3, False),
        ("<", 3, 2, True),
        ("<", 3, 3, False),
        (">=", 3, 3, True),
        (">=", 3, 2, False),
        ("<=", 3, 3, True),
        ("<=", 3, 4, False),
    ],
)
def test_enable_when_operators(operator: str, target: int, value: int, enabled: bool) -> None:
    q = _gated(operator, answerInteger=target)
    issues = check(q, answer_item("a", {"valueInteger": value}), answer_item("b", {"valueString": "x"}))
    assert (errors(issues) == []) is enabled, issues
    if not enabled:
        assert errors(issues)[0].code == "business-rule"
        assert errors(issues)[0].expression == ("QuestionnaireResponse.item[1].answer[0]",)


def test_enable_when_exists_and_unanswered_sources() -> None:
    q = _gated("exists", answerBoolean=True)
    assert errors(check(q, answer_item("b", {"valueString": "x"})))
    assert (
        errors(check(q, answer_item("a", {"valueInteger": 1}), answer_item("b", {"valueString": "x"}))) == []
    )
    absent = _gated("exists", answerBoolean=False)
    assert errors(check(absent, answer_item("b", {"valueString": "x"}))) == []
    not_equal = _gated("!=", answerInteger=3)  # no answer is "not equal" (R4 enable-operator)
    assert errors(check(not_equal, answer_item("b", {"valueString": "x"}))) == []


@pytest.mark.parametrize(("behavior", "enabled"), [("all", False), ("any", True)])
def test_enable_behavior(behavior: str, enabled: bool) -> None:
    conds = [
        {"question": "a", "operator": "=", "answerBoolean": True},
        {"question": "b", "operator": "=", "answerBoolean": True},
    ]
    q = questionnaire(
        question("a", "boolean"),
        question("b", "boolean"),
        question("c", "string", enableWhen=conds, enableBehavior=behavior),
    )
    issues = check(
        q,
        answer_item("a", {"valueBoolean": True}),
        answer_item("b", {"valueBoolean": False}),
        answer_item("c", {"valueString": "x"}),
    )
    assert (errors(issues) == []) is enabled


def test_required_but_disabled_items_are_not_required() -> None:
    q = questionnaire(
        question("a", "boolean", required=True),
        question(
            "b",
            "string",
            required=True,
            enableWhen=[{"question": "a", "operator": "=", "answerBoolean": True}],
        ),
    )
    assert errors(check(q, answer_item("a", {"valueBoolean": False}))) == []
    assert [i.code for i in errors(check(q, answer_item("a", {"valueBoolean": True})))] == ["required"]


def test_a_disabled_source_counts_as_unanswered() -> None:
    on = {"operator": "=", "answerBoolean": True}
    q = questionnaire(
        question("a", "boolean"),
        question("b", "boolean", enableWhen=[{"question": "a", **on}]),
        question("c", "string", enableWhen=[{"question": "b", **on}]),
    )
    # b is answered but disabled (a is false), so c is disabled too: two errors.
    issues = check(
        q,
        answer_item("a", {"valueBoolean": False}),
        answer_item("b", {"valueBoolean": True}),
        answer_item("c", {"valueString": "x"}),
    )
    assert expressions(issues) == [
        "QuestionnaireResponse.item[1].answer[0]",
        "QuestionnaireResponse.item[2].answer[0]",
    ]


def test_enable_when_inside_a_repeating_group_uses_the_same_instance() -> None:
    cond = [{"question": "g.a", "operator": "=", "answerBoolean": True}]
    q = questionnaire(
        question(
            "g",
            "group",
            repeats=True,
            item=[question("g.a", "boolean"), question("g.b", "string", enableWhen=cond)],
        )
    )
    yes = {
        "linkId": "g",
        "item": [answer_item("g.a", {"valueBoolean": True}), answer_item("g.b", {"valueString": "x"})],
    }
    no = {
        "linkId": "g",
        "item": [answer_item("g.a", {"valueBoolean": False}), answer_item("g.b", {"valueString": "y"})],
    }
    assert expressions(check(q, yes, no)) == ["QuestionnaireResponse.item[1].item[1].answer[0]"]


def test_descendants_of_a_disabled_group_are_disabled() -> None:
    cond = [{"question": "a", "operator": "=", "answerBoolean": True}]
    q = questionnaire(
        question("a", "boolean"), question("g", "group", enableWhen=cond, item=[question("g.b", "string")])
    )
    issues = check(
        q,
        answer_item("a", {"valueBoolean": False}),
        {"linkId": "g", "item": [answer_item("g.b", {"valueString": "x"})]},
    )
    assert expressions(issues) == ["QuestionnaireResponse.item[1]"]


# -- lengths and ranges --------------------------------------------------------------------------


def test_max_length() -> None:
    q = questionnaire(question("a", "string", maxLength=5))
    assert [i.code for i in errors(check(q, answer_item("a", {"valueString": "for lang"})))] == ["too-long"]
    assert errors(check(q, answer_item("a", {"valueString": "kort"}))) == []


def test_min_length_extension() -> None:
    q = questionnaire(question("a", "string", extension=[{"url": EXT + "minLength", "valueInteger": 3}]))
    assert errors(check(q, answer_item("a", {"valueString": "ab"})))
    assert errors(check(q, answer_item("a", {"valueString": "abc"}))) == []


@pytest.mark.parametrize(
    ("q_type", "key", "low", "high", "inside", "below", "above"),
    [
        ("integer", "valueInteger", 0, 10, 5, -1, 11),
        ("decimal", "valueDecimal", 0.5, 2.5, 1.0, 0.4, 2.6),
        ("date", "valueDate", "2020-01-01", "2030-12-31", "2026-11-01", "2019-12-31", "2031-01-01"),
    ],
)
def test_min_and_max_value(
    q_type: str, key: str, low: Any, high: Any, inside: Any, below: Any, above: Any
) -> None:
    ext = [{"url": EXT + "minValue", key: low}, {"url": EXT + "maxValue", key: high}]
    q = questionnaire(question("a", q_type, extension=ext))
    assert errors(check(q, answer_item("a", {key: inside}))) == []
    assert "at least" in errors(check(q, answer_item("a", {key: below})))[0].diagnostics
    assert "at most" in errors(check(q, answer_item("a", {key: above})))[0].diagnostics


def test_quantity_range_compares_the_same_unit_only() -> None:
    ext = [{"url": EXT + "maxValue", "valueQuantity": {"value": 300, "code": "kg"}}]
    q = questionnaire(question("a", "quantity", extension=ext))
    assert errors(check(q, answer_item("a", {"valueQuantity": {"value": 301, "code": "kg"}})))
    assert errors(check(q, answer_item("a", {"valueQuantity": {"value": 301, "code": "g"}}))) == []


def test_expression_points_at_the_nested_answer() -> None:
    q = questionnaire(
        question(
            "g",
            "group",
            item=[question("g.a", "string"), question("g.b", "string"), question("g.c", "integer")],
        )
    )
    group = {
        "linkId": "g",
        "item": [answer_item("g.a", {"valueString": "x"}), answer_item("g.c", {"valueString": "x"})],
    }
    assert expressions(check(q, group)) == ["QuestionnaireResponse.item[0].item[1].answer[0].valueString"]


# -- robustness ----------------------------------------------------------------------------------

# Structurally valid answers (the write path parses structure before this validator runs).
_answer = st.one_of(
    st.builds(lambda v: {"valueString": v}, st.text(max_size=5)),
    st.builds(lambda v: {"valueInteger": v}, st.integers()),
    st.builds(lambda v: {"valueBoolean": v}, st.booleans()),
    st.builds(lambda v: {"valueCoding": {"code": v}}, st.text(min_size=1, max_size=3)),
    st.just({}),
)
_items = st.recursive(
    st.builds(
        lambda link, answers: {"linkId": link, "answer": answers},
        st.sampled_from(["a", "b", "g", "g.a", "zz"]),
        st.lists(_answer, max_size=2),
    ),
    lambda children: st.builds(
        lambda link, kids: {"linkId": link, "item": kids},
        st.sampled_from(["g", "a"]),
        st.lists(children, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_items, max_size=4), st.sampled_from(["completed", "in-progress"]))
def test_any_response_shape_gives_issues_not_exceptions(items: list[dict[str, Any]], status: str) -> None:
    cond = [{"question": "a", "operator": "exists", "answerBoolean": True}]
    q = questionnaire(
        question("a", "boolean", required=True),
        question("g", "group", repeats=True, enableWhen=cond, item=[question("g.a", "integer")]),
    )
    issues = validate_response({"resourceType": "QuestionnaireResponse", "status": status, "item": items}, q)
    assert all(
        isinstance(i, Issue) and i.expression and i.expression[0].startswith("QuestionnaireResponse")
        for i in issues
    )


def test_cyclic_enable_when_settles() -> None:
    # a and b enable each other (a Questionnaire defect): validation must finish; both answered, both on.
    q = questionnaire(
        question("a", "boolean", enableWhen=[{"question": "b", "operator": "exists", "answerBoolean": True}]),
        question("b", "boolean", enableWhen=[{"question": "a", "operator": "exists", "answerBoolean": True}]),
    )
    issues = check(q, answer_item("a", {"valueBoolean": True}), answer_item("b", {"valueBoolean": True}))
    assert errors(issues) == []
    only_a = check(q, answer_item("a", {"valueBoolean": True}))
    assert expressions(only_a) == ["QuestionnaireResponse.item[0].answer[0]"]  # a needs an answered b


def test_subject_type_must_be_one_the_questionnaire_is_for() -> None:
    q = questionnaire(question("a", "string"), subjectType=["Patient"])
    qr = response(q, answer_item("a", {"valueString": "x"}))
    for ref in ("Patient/p1", "http://test/fhir/Patient/p1", "Patient/p1/_history/2"):
        assert errors(validate_response({**qr, "subject": {"reference": ref}}, q)) == [], ref
    issues = validate_response({**qr, "subject": {"reference": "Group/g1"}}, q)
    assert expressions(issues) == ["QuestionnaireResponse.subject"]
