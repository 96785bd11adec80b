"""ValueSet membership against the ValueSets and CodeSystems the server holds."""

from __future__ import annotations

from app.validation.definitions import load_definitions
from app.validation.terminology import Terminology

POU = "http://terminology.hl7.org/ValueSet/v3-PurposeOfUse"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
B = "https://fellesplan.no/fhir"


def test_is_a_filter_is_evaluated() -> None:
    tx = Terminology(load_definitions())
    assert tx.check(POU, ACT_REASON, "ETREAT") == "ok"
    assert tx.check(POU, ACT_REASON, "BTG") == "ok"
    assert tx.check(POU, ACT_REASON, "NOT-A-CODE") == "bad"
    assert tx.check(POU, "http://snomed.info/sct", "3457005") == "bad"


def test_whole_code_system_and_unions() -> None:
    tx = Terminology(load_definitions())
    vs = f"{B}/ValueSet/samtykke-innhold"
    assert tx.check(vs, f"{B}/CodeSystem/kriseplan-seksjon", "kontakter") == "ok"
    assert tx.check(vs, f"{B}/CodeSystem/ip-domene", "bolig") == "ok"
    assert tx.check(vs, f"{B}/CodeSystem/ip-domene", "kontakter") == "bad"
    assert tx.check(vs, None, "bolig") == "ok"  # a bare code (type code) checks the code alone


def test_what_we_cannot_evaluate_is_unknown_never_bad() -> None:
    tx = Terminology(load_definitions())
    assert tx.check("http://example.org/ValueSet/none", "x", "y") == "unknown"
    # languages: a ValueSet we do not hold
    assert tx.check("http://hl7.org/fhir/ValueSet/languages", "urn:ietf:bcp:47", "nb") == "unknown"
