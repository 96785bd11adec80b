"""Every point of § 19 (individuell plan, see docs/profiles.md) is representable and enforced."""

from __future__ import annotations

from typing import Any

import pytest

from app.fhir.errors import Issue, Unprocessable
from app.validation.hook import validate_for_write, validate_resource
from tests.validation.factories import SD, individuell_plan, tiltak


def errors(resource: dict[str, Any]) -> list[Issue]:
    """The errors a write of the resource gives (none when it is accepted)."""
    try:
        validate_for_write("CarePlan", resource)
    except Unprocessable as exc:
        return exc.issues
    return []


def test_complete_plan_is_accepted() -> None:
    assert errors(individuell_plan()) == []


def test_1_goals_resources_and_needs() -> None:
    plan = individuell_plan()
    urls = {e["url"] for e in plan["extension"]}
    assert {SD + "ip-ressurser", SD + "ip-behov"} <= urls and plan["goal"]
    no_goal = individuell_plan()
    del no_goal["goal"]
    assert any("ip-1" in i.diagnostics for i in errors(no_goal))
    bad = individuell_plan()
    bad["extension"][2]["valueString"] = bad["extension"][2].pop("valueMarkdown")
    assert errors(bad), "ressurser must be markdown"


def test_2_who_takes_part() -> None:
    plan = individuell_plan()
    del plan["contributor"]
    assert any(i.expression == ("CarePlan.contributor",) for i in errors(plan))


def test_3_koordinator_is_required() -> None:
    plan = individuell_plan()
    plan["extension"] = plan["extension"][1:]
    assert any("extension:koordinator" in i.diagnostics for i in errors(plan))
    wrong = individuell_plan()
    wrong["extension"][0]["valueReference"] = {"reference": "RelatedPerson/bror"}
    assert any("Invalid Resource target type" in i.diagnostics for i in errors(wrong))


def test_4_contributions_of_person_services_and_next_of_kin() -> None:
    plan = individuell_plan(activity=[
        tiltak("okonomi", "Patient/kari"), tiltak("bolig", "Organization/kommune"),
        tiltak("sosialt-nettverk", "RelatedPerson/bror")])
    assert errors(plan) == []


def test_5_measures_scope_and_responsible() -> None:
    scoped = tiltak("arbeid-aktivitet", "Organization/nav",
                    quantity={"value": 2, "unit": "timer per uke"})
    assert errors(individuell_plan(activity=[scoped])) == []
    no_performer = tiltak("rus", "Organization/dps")
    del no_performer["detail"]["performer"]
    found = errors(individuell_plan(activity=[no_performer]))
    assert [i.expression for i in found] == [("CarePlan.activity[0].detail.performer",)]
    bad_domain = tiltak("fritid", "Organization/dps")
    assert any("is not in the value set" in i.diagnostics
               for i in errors(individuell_plan(activity=[bad_domain])))


def test_6_how_measures_are_carried_out() -> None:
    plan = individuell_plan()
    del plan["activity"][0]["detail"]["description"]
    assert any(i.expression == ("CarePlan.activity[0].detail.description",) for i in errors(plan))


def test_7_period_and_revision_date() -> None:
    plan = individuell_plan()
    del plan["period"]
    assert any(i.expression == ("CarePlan.period",) for i in errors(plan))
    plan = individuell_plan()
    plan["extension"] = [e for e in plan["extension"] if not e["url"].endswith("revisjonsdato")]
    assert any("extension:revisjonsdato" in i.diagnostics for i in errors(plan))
    plan = individuell_plan(period={"start": "2027-01-01", "end": "2026-01-01"})
    assert any("per-1" in i.diagnostics for i in errors(plan))


def test_8_consent_to_plan_and_sharing() -> None:
    plan = individuell_plan()
    del plan["supportingInfo"]
    issues = validate_resource(plan)
    assert any(i.severity == "warning" and "ip-2" in i.diagnostics for i in issues)
    assert errors(plan) == []  # a warning: the Consent may be sent in the same transaction


@pytest.mark.parametrize("domain", ["bolig", "arbeid-aktivitet", "okonomi"])
def test_9_cooperation_with_other_agencies(domain: str) -> None:
    plan = individuell_plan(activity=[tiltak(domain, "Organization/nav")])
    assert errors(plan) == []
