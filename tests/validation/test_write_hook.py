"""validate_for_write: base invariants, claimed profiles and mandatory profiles per category."""

from __future__ import annotations

import pytest

from app.fhir.errors import Unprocessable
from app.validation.hook import validate_for_write, validate_resource
from tests.validation.factories import SD, kriseplan, patient, section


def test_category_a01_2_makes_kriseplan_mandatory() -> None:
    validate_for_write("CarePlan", kriseplan())
    plan = kriseplan()
    del plan["period"]
    with pytest.raises(Unprocessable) as caught:
        validate_for_write("CarePlan", plan)
    assert caught.value.status == 422
    assert [i.expression for i in caught.value.issues] == [("CarePlan.period",)]


def test_a_care_plan_without_plan_category_is_only_base_checked() -> None:
    validate_for_write("CarePlan", {"resourceType": "CarePlan", "status": "active", "intent": "order",
                                    "subject": {"reference": "Patient/kari"}})


def test_base_invariants_are_errors_without_any_profile() -> None:
    plan = {"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": {"reference": "Patient/x"},
            "activity": [{"reference": {"reference": "Appointment/1"}, "detail": {"status": "scheduled"}}]}
    with pytest.raises(Unprocessable) as caught:
        validate_for_write("CarePlan", plan)
    assert any("cpl-3" in i.diagnostics and i.expression == ("CarePlan.activity[0]",)
               for i in caught.value.issues)


def test_claimed_profile_is_enforced() -> None:
    p = patient(meta={"profile": [SD + "fellesplan-patient"]})
    validate_for_write("Patient", p)
    p["identifier"][0]["value"] = "13057444850"
    with pytest.raises(Unprocessable) as caught:
        validate_for_write("Patient", p)
    text = caught.value.issues[0].diagnostics
    assert "fp-pid-1" in text and "rejected by rule" in text


def test_unknown_claims_ours_error_others_warning() -> None:
    p = patient(meta={"profile": ["http://example.org/StructureDefinition/x"]})
    validate_for_write("Patient", p)
    assert any(i.severity == "warning" for i in validate_resource(p))
    p["meta"]["profile"] = [SD + "finnes-ikke"]
    with pytest.raises(Unprocessable):
        validate_for_write("Patient", p)


def test_profile_of_another_type_is_an_error() -> None:
    with pytest.raises(Unprocessable) as caught:
        validate_for_write("Patient", patient(meta={"profile": [SD + "kriseplan"]}))
    assert caught.value.issues[0].expression == ("Patient.meta.profile[0]",)


def test_draft_kriseplan_may_be_incomplete_but_not_inconsistent() -> None:
    draft = kriseplan(status="draft", activity=[section("tidlige-tegn")])
    validate_for_write("CarePlan", draft)
    draft["activity"].append(section("kontakter"))
    with pytest.raises(Unprocessable) as caught:
        validate_for_write("CarePlan", draft)
    assert "kp-3" in caught.value.issues[0].diagnostics


def test_warnings_do_not_block() -> None:
    plan = kriseplan()
    plan["text"] = {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}
    validate_for_write("CarePlan", plan)
    assert not any(i.severity == "error" for i in validate_resource(plan))


def test_unsafe_narrative_is_rejected() -> None:
    plan = kriseplan(text={"status": "generated",
                           "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x()</script>hei</div>"})
    with pytest.raises(Unprocessable) as caught:
        validate_for_write("CarePlan", plan)
    assert "txt-1" in caught.value.issues[0].diagnostics


def test_fnr_rule_setting_changes_the_verdict() -> None:
    from app.validation.engine import Engine

    legacy = Engine("legacy")
    number = _number_valid_only_under_2032()
    p = patient(meta={"profile": [SD + "fellesplan-patient"]})
    p["identifier"][0]["value"] = number
    urls, _ = legacy.profiles_for(p, strict_claims=False)
    found = [i for i in legacy.check(p, urls) if i.severity == "error"]
    assert len(found) == 1 and "mod11-legacy" in found[0].diagnostics
    validate_for_write("Patient", p)  # default rule: both


def _number_valid_only_under_2032() -> str:
    """An FNR whose first remainder is 1 (accepted from 2032 only)."""
    from app.validation.identifiers import _remainders

    for individ in range(1000):
        for k1 in range(10):
            base = f"0101{32:02d}{individ:03d}{k1}"
            for k2 in range(10):
                r1, r2 = _remainders(base + str(k2))
                if r1 == 1 and r2 == 0:
                    return base + str(k2)
    raise AssertionError("none found")


@pytest.mark.parametrize(("reference", "ok"), [
    ("Patient/kari", True), ("https://andre.no/fhir/Patient/1/_history/2", True),
    ("urn:uuid:5f3c1f0e-8a4e-4a8e-9c7e-1d2f3a4b5c6d", True), ("#p1", True),
    ("Patient?identifier=http://X/Y|123", True), ("Group/1", False),
    ("Group?identifier=http://X/Patient|1", False),
])
def test_subject_reference_forms(reference: str, ok: bool) -> None:
    plan = kriseplan(subject={"reference": reference})
    if reference == "#p1":
        plan["contained"] = [patient(id="p1")]
    if ok:
        validate_for_write("CarePlan", plan)
    else:
        with pytest.raises(Unprocessable):
            validate_for_write("CarePlan", plan)


def test_our_extension_outside_its_context_is_refused() -> None:
    p = patient(extension=[{"url": SD + "koordinator", "valueReference": {"reference": "Practitioner/1"}}])
    with pytest.raises(Unprocessable) as caught:
        validate_for_write("Patient", p)
    assert "not allowed at Patient" in caught.value.issues[0].diagnostics
    assert caught.value.issues[0].expression == ("Patient.extension[0]",)


def test_switched_off_skips_profiles_only_when_asked() -> None:
    plan = kriseplan()
    del plan["period"]
    validate_for_write("CarePlan", plan, enabled=False)
    with pytest.raises(Unprocessable):
        validate_for_write("CarePlan", plan, enabled=True)


def test_production_refuses_to_run_without_validation_on_write() -> None:
    from pydantic import ValidationError

    from app.validation.settings import ValidationSettings

    class _Env(ValidationSettings):
        env: str = "production"

    with pytest.raises(ValidationError, match="VALIDATION_ON_WRITE"):
        _Env(validation_on_write=False)
    assert _Env().validation_on_write is True
