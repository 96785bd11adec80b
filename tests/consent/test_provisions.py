"""Consent provision evaluation (https://hl7.org/fhir/R4/consent.html): nesting, period, actor,
action, purpose, class, code, data and securityLabel; unknown content fails closed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.consent import expr as E
from app.consent.facets import activity_part
from app.consent.policy import current
from app.consent.provisions import RequestFacts, evaluate_consent
from tests.consent.world import DOMENE, RESOURCE_TYPES

NOW = dt.datetime(2026, 11, 22, 12, 0)
NAV = {"reference": "Organization/nav"}


def req(purpose: str | None = None, action: str = "read") -> RequestFacts:
    return RequestFacts(lambda ref: ref.get("reference") == "Organization/nav", action, purpose, NOW)


def consent(provision: dict[str, Any], status: str = "active") -> dict[str, Any]:
    return {"resourceType": "Consent", "status": status, "provision": provision}


def actor(ref: dict[str, Any] = NAV) -> list[dict[str, Any]]:
    return [{"role": {"coding": [{"code": "GRANTEE"}]}, "reference": ref}]


def cls(*types: str) -> list[dict[str, str]]:
    return [{"system": RESOURCE_TYPES, "code": t} for t in types]


def codes(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"coding": [{"system": s, "code": c}]} for s, c in pairs]


def part(kind: str | None, section: tuple[str, str] | str = E.HEADER, labels: Any = frozenset(),
         res_id: str = "x") -> E.Facets:
    return E.Facets(res_id, kind, labels, section)


def decide(c: dict[str, Any], res_type: str, f: E.Facets, r: RequestFacts | None = None,
           ) -> tuple[bool, bool]:
    permit, deny = evaluate_consent(c, current(), r or req(), res_type)
    return E.evaluate(permit, f), E.evaluate(deny, f)


IP = "individuell-plan"
BOLIG, RUS = (DOMENE, "bolig"), (DOMENE, "rus")


def test_opt_in_root_deny_with_nested_permit() -> None:
    c = consent({"type": "deny", "period": {"start": "2026-01-01", "end": "2027-01-01"},
                 "provision": [{"type": "permit", "actor": actor(), "class": cls("CarePlan"),
                                "code": codes(BOLIG)}]})
    assert decide(c, "CarePlan", part(IP)) == (True, False)  # the plan's frame
    assert decide(c, "CarePlan", part(IP, BOLIG)) == (True, False)
    assert decide(c, "CarePlan", part(IP, RUS)) == (False, False)  # not named; not an objection
    assert decide(c, "CarePlan", part(IP, E.WHOLE)) == (False, False)
    assert decide(c, "CarePlan", part("kriseplan")) == (False, False)
    assert decide(c, "Goal", part("x")) == (False, False)


def test_period_status_actor_and_purpose() -> None:
    base = {"type": "permit", "actor": actor(), "purpose": [{"code": "COC"}]}
    assert decide(consent(base), "Goal", part(None)) == (True, False)
    assert decide(consent(base), "Goal", part(None), req("COC")) == (True, False)
    assert decide(consent(base), "Goal", part(None), req("TREAT")) == (False, False)
    assert decide(consent(base, "inactive"), "Goal", part(None)) == (False, False)
    ended = {**base, "period": {"end": "2026-11-21"}}
    assert decide(consent(ended), "Goal", part(None)) == (False, False)
    other = {**base, "actor": actor({"reference": "Organization/annen"})}
    assert decide(consent(other), "Goal", part(None)) == (False, False)


def test_action_data_and_security_label() -> None:
    reads = {"type": "permit", "actor": actor(), "action": [{"coding": [{"code": "access"}]}]}
    assert decide(consent(reads), "Goal", part(None)) == (True, False)
    assert decide(consent(reads), "Goal", part(None), req(action="write")) == (False, False)
    data = {"type": "permit", "actor": actor(),
            "data": [{"meaning": "instance", "reference": {"reference": "Goal/g1"}}]}
    assert decide(consent(data), "Goal", part(None, res_id="g1")) == (True, False)
    assert decide(consent(data), "Goal", part(None, res_id="g2")) == (False, False)
    assert decide(consent(data), "CarePlan", part(IP, res_id="g1")) == (False, False)
    label = {"type": "deny", "actor": actor(), "securityLabel": [{"system": "s", "code": "R"}]}
    assert decide(consent(label), "Goal", part(None, labels=frozenset({("s", "R")}))) == (False, True)
    assert decide(consent(label), "Goal", part(None)) == (False, False)


def test_nested_exceptions_and_sibling_conflicts() -> None:
    c = consent({"type": "permit", "actor": actor(), "class": cls("CarePlan"),
                 "provision": [{"type": "deny", "code": codes(RUS)}]})
    assert decide(c, "CarePlan", part(IP, BOLIG)) == (True, False)
    assert decide(c, "CarePlan", part(IP, RUS)) == (False, True)
    assert decide(c, "CarePlan", part(IP)) == (True, False)  # the frame stays visible
    both = consent({"type": "deny", "actor": actor(), "provision": [
        {"type": "permit", "class": cls("Goal")}, {"type": "deny", "class": cls("Goal")}]})
    assert decide(both, "Goal", part(None)) == (False, True)


def test_what_the_engine_cannot_read_never_widens_a_permit() -> None:
    odd_code = codes(("http://snomed.info/sct", "123"))
    assert decide(consent({"type": "permit", "actor": actor(), "code": odd_code}), "CarePlan",
                  part(IP)) == (False, False)
    assert decide(consent({"type": "deny", "actor": actor(), "code": odd_code}), "Goal",
                  part(None)) == (False, True)
    odd_class = [{"system": "http://example.org/profiles", "code": "x"}]
    assert decide(consent({"type": "permit", "actor": actor(), "class": odd_class}), "Goal",
                  part(None)) == (False, False)
    assert decide(consent({"type": "deny", "actor": actor(), "class": odd_class}), "Goal",
                  part(None)) == (False, True)
    related = [{"meaning": "related", "reference": {"reference": "Goal/g1"}}]
    assert decide(consent({"type": "deny", "actor": actor(), "data": related}), "Goal",
                  part(None, res_id="zz")) == (False, True)


def test_provisions_without_an_actor_decide_nothing() -> None:
    assert decide(consent({"type": "permit"}), "Goal", part(None)) == (False, False)
    assert decide(consent({"type": "deny"}), "Goal", part(None)) == (False, False)


def test_activity_parts_are_read_from_detail_code() -> None:
    policy = current()
    assert activity_part(policy, {"detail": {"code": {"coding": [
        {"system": DOMENE, "code": "bolig"}]}}}) == BOLIG
    assert activity_part(policy, {"detail": {"description": "x"}}) == E.UNSECTIONED
