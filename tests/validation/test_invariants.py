"""The override table agrees with the published FHIRPath wherever fhirpathpy can evaluate it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.validation import identifiers as ids
from app.validation.datetimes import compare_datetimes
from app.validation.hook import engine
from app.validation.invariants import OVERRIDES, InvariantSettings, fhirpath_evaluate
from app.validation.narrative import html_checks

S = InvariantSettings()


def published(profile_id: str, key: str) -> str:
    """The FHIRPath of an invariant as published in our StructureDefinition."""
    sd = engine().defs.structure(f"https://fellesplan.no/fhir/StructureDefinition/{profile_id}")
    assert sd is not None
    for el in sd["differential"]["element"]:
        for c in el.get("constraint", []):
            if c["key"] == key:
                return str(c["expression"])
    raise KeyError(key)


def native(key: str, value: Any, root: dict[str, Any] | None = None) -> bool:
    """True when the native override holds."""
    return OVERRIDES[key][1](value, root or value, S) is None


person_numbers = st.builds(
    lambda d, m, y, rest: f"{d:02d}{m:02d}{y:02d}{rest:05d}",
    st.integers(1, 31), st.sampled_from([1, 6, 12, 41, 85, 92]), st.integers(0, 99),
    st.integers(0, 99999),
)


def _with_check_digits(first9: str) -> str:
    """first9 plus legacy check digits (or a deliberately wrong pair when none exist)."""
    k = ids.fnr_check_digits(first9)
    return first9 + (f"{k[0]}{k[1]}" if k else "00")


valid_numbers = st.text("0123456789", min_size=9, max_size=9).map(_with_check_digits)


@settings(max_examples=60, deadline=None)
@given(st.one_of(person_numbers, valid_numbers, st.text("0123456789", min_size=11, max_size=11)),
       st.sampled_from([ids.FNR_SYSTEM, ids.DNR_SYSTEM, ids.FHN_SYSTEM]))
def test_person_id_fhirpath_agrees_with_native(number: str, system: str) -> None:
    resource = {"resourceType": "Patient", "identifier": [{"system": system, "value": number}]}
    by_fhirpath = fhirpath_evaluate(published("fellesplan-patient", "fp-pid-1"), resource)
    assert by_fhirpath == [native("fp-pid-1", resource)]


@settings(max_examples=40, deadline=None)
@given(st.text("0123456789", min_size=9, max_size=9))
def test_orgnr_fhirpath_agrees_with_native(number: str) -> None:
    resource = {"resourceType": "Organization",
                "identifier": [{"system": ids.ORGNR_SYSTEM, "value": number}]}
    by_fhirpath = fhirpath_evaluate(published("fellesplan-organization", "fp-org-1"), resource)
    assert by_fhirpath == [native("fp-org-1", resource)]


CASES: list[tuple[str, str, Any]] = [
    ("cpl-3", "CarePlan.activity", {"detail": {"status": "x"}, "reference": {"reference": "A/1"}}),
    ("cpl-3", "CarePlan.activity", {"detail": {"status": "x"}}),
    ("ext-1", "Extension", {"url": "u", "valueString": "x"}),
    ("ext-1", "Extension", {"url": "u"}),
    ("ext-1", "Extension", {"url": "u", "valueString": "x", "extension": [{"url": "v"}]}),
]


@pytest.mark.parametrize(("key", "base", "value"), CASES)
def test_speed_overrides_match_fhirpath(key: str, base: str, value: Any) -> None:
    from fhirpathpy.engine.nodes import ResourceNode

    from app.validation.invariants import _OPTIONS, R4, apply_parsed_path, parse

    expression = {"cpl-3": "detail.empty() or reference.empty()",
                  "ext-1": "extension.exists() != value.exists()"}[key]
    node = ResourceNode.create_node(value, base)
    result = apply_parsed_path(node, parse(expression), {}, R4, _OPTIONS)
    assert [getattr(r, "data", r) for r in result] == [native(key, value)]


@pytest.mark.parametrize("key", ["dom-2", "dom-3", "dom-4", "dom-5"])
def test_contained_rules(key: str) -> None:
    ok = {"resourceType": "CarePlan", "contained": [{"resourceType": "Goal", "id": "g"}],
          "goal": [{"reference": "#g"}]}
    assert native(key, ok)
    bad = {
        "dom-2": {"contained": [{"resourceType": "Goal", "id": "g", "contained": [{"id": "x"}]}]},
        "dom-3": {"contained": [{"resourceType": "Goal", "id": "g"}]},
        "dom-4": {"contained": [{"resourceType": "Goal", "id": "g", "meta": {"versionId": "1"}}],
                  "goal": [{"reference": "#g"}]},
        "dom-5": {"contained": [{"resourceType": "Goal", "id": "g",
                                 "meta": {"security": [{"code": "R"}]}}], "goal": [{"reference": "#g"}]},
    }[key]
    assert not native(key, bad)


def test_ref_1_local_reference_must_resolve() -> None:
    root = {"contained": [{"resourceType": "Goal", "id": "g"}]}
    assert native("ref-1", {"reference": "#g"}, root)
    assert not native("ref-1", {"reference": "#h"}, root)
    assert native("ref-1", {"reference": "Goal/h"}, root)
    assert native("ref-1", {"reference": "#"}, root)  # a contained resource pointing at its container


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("2026-01-01", "2026-01-02", -1), ("2026-01-02", "2026-01-01", 1),
    ("2026-01", "2026-01-15", None), ("2026-01-01T10:00:00+01:00", "2026-01-01T09:00:00Z", 0),
    ("2026-01-01T10:00:00Z", "2026-01-01T09:00:00Z", 1), ("2026", "2027-05", -1),
])
def test_datetime_comparison_precision(a: str, b: str, expected: int | None) -> None:
    assert compare_datetimes(a, b) == expected


def test_per_1() -> None:
    assert native("per-1", {"start": "2026-01-01", "end": "2026-01-01"})
    assert native("per-1", {"start": "2026-01", "end": "2026-01-01"})  # unknown: passes
    assert not native("per-1", {"start": "2026-02-01", "end": "2026-01-31"})


def test_html_checks() -> None:
    assert html_checks("<div><p>Hei</p></div>", content=False) is None
    assert html_checks("<div><p onclick='x()'>Hei</p></div>", content=False)
    assert html_checks("<div><a href='javascript:x()'>Hei</a></div>", content=False)
    assert html_checks("<div><iframe src='x'/></div>", content=False)
    assert html_checks("<div> <p>  </p></div>", content=True)
    assert html_checks("<div><img src='#a'/></div>", content=True) is None


def test_every_override_has_a_written_reason() -> None:
    for key, (reason, _) in OVERRIDES.items():
        assert reason.split(":", 1)[0] in {"SPEED", "GAP", "GAP+SPEED", "RULE"}, key


@pytest.mark.parametrize(("member", "holds"), [
    ("Practitioner/1", True), ("Organization/1", False), ("urn:uuid:1", True),
    ("Practitioner?identifier=http://x/y|1", True), ("#org", False), ("#pr", True),
])
def test_ctm_1_on_behalf_of_only_for_practitioners(member: str, holds: bool) -> None:
    root = {"contained": [{"resourceType": "Organization", "id": "org"},
                          {"resourceType": "Practitioner", "id": "pr"}]}
    participant = {"member": {"reference": member}, "onBehalfOf": {"reference": "Organization/2"}}
    assert native("ctm-1", participant, root) is holds
    assert native("ctm-1", {"member": {"reference": member}}, root)
