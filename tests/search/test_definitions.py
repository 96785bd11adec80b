"""Definitions drive search: profile SearchParameters work without code; meta parameters;
the FHIRPath subset compiler; normalisation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.search import registry as reg
from app.search.fhirpath import compile_expression, compile_or_fallback
from app.search.normalize import date_range, norm_string, number_range
from tests.search.factories import careplan, patient, store_all
from tests.search.helpers import ids

EXT = "https://fellesplan.no/fhir/StructureDefinition/test-kontaktperson"
CUSTOM = {
    "resourceType": "SearchParameter", "url": "https://fellesplan.no/fhir/SearchParameter/t",
    "name": "kontaktperson", "status": "active", "code": "kontaktperson", "base": ["CarePlan"],
    "type": "reference", "target": ["RelatedPerson"],
    "expression": f"CarePlan.extension('{EXT}').value",
}


@pytest.fixture
def custom_param(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The registry with one extra SearchParameter, as a profile would add it."""
    defs = reg._definitions()
    monkeypatch.setattr(reg, "_definitions", lambda: [*defs, CUSTOM])
    reg.registry.cache_clear()
    yield
    monkeypatch.undo()
    reg.registry.cache_clear()


@pytest.mark.usefixtures("custom_param")
async def test_profile_parameter_works_without_code(session: AsyncSession) -> None:
    ext = [{"url": EXT, "valueReference": {"reference": "RelatedPerson/mor"}}]
    await store_all(session, [careplan("k1", extension=ext), careplan("k2")])
    assert await ids(session, "CarePlan", "kontaktperson=RelatedPerson/mor") == {"k1"}
    assert await ids(session, "CarePlan", "kontaktperson:missing=true") == {"k2"}
    assert any(p.code == "kontaktperson" for p in reg.search_params_for("CarePlan"))


async def test_meta_parameters(session: AsyncSession) -> None:
    meta = {"tag": [{"system": "https://fellesplan.no/tag", "code": "demo"}],
            "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                          "code": "R"}],
            "profile": ["https://fellesplan.no/fhir/StructureDefinition/kriseplan"],
            "source": "https://ehr.example/kilde"}
    await store_all(session, [patient("m1", meta=meta), patient("m2")])
    assert await ids(session, "Patient", "_tag=https://fellesplan.no/tag|demo") == {"m1"}
    assert await ids(session, "Patient", "_security=R") == {"m1"}
    assert await ids(session, "Patient", "_security:not=R") == {"m2"}
    assert await ids(session, "Patient",
                     "_profile=https://fellesplan.no/fhir/StructureDefinition/kriseplan") == {"m1"}
    assert await ids(session, "Patient", "_source=https://ehr.example/kilde") == {"m1"}


def test_broken_definition_is_skipped() -> None:
    bad = {**CUSTOM, "code": "broken", "expression": "CarePlan.where(((("}
    built = reg.build_registry([CUSTOM, bad])
    assert built.get("CarePlan", "kontaktperson") is not None
    assert built.get("CarePlan", "broken") is None


def test_capability_view() -> None:
    params = {p.name: p for p in reg.search_params_for("Patient")}
    assert params["birthdate"].type == "date"
    assert params["birthdate"].url == "http://hl7.org/fhir/SearchParameter/individual-birthdate"
    assert params["identifier"].documentation == "A patient identifier"
    assert "_content" not in params  # no expression: not offered


RES: dict[str, Any] = {
    "resourceType": "Patient", "deceasedDateTime": "2020-01-01",
    "telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "a@b"}],
    "extension": [{"url": "u1", "valueString": "x"}],
    "link": [{"other": {"reference": "Patient/1"}}, {"other": {"reference": "RelatedPerson/2"}}],
}


class TestFhirPath:
    res = RES

    def test_union_other_types_skipped(self) -> None:
        fn = compile_expression("Patient.telecom.where(system='email') | Practitioner.telecom",
                                "Patient")
        assert fn(self.res) == [{"system": "email", "value": "a@b"}]

    def test_as_on_choice(self) -> None:
        assert compile_expression("(Patient.deceased as dateTime)", "Patient")(self.res) == [
            "2020-01-01"]
        assert compile_expression("(Patient.deceased as boolean)", "Patient")(self.res) == []

    def test_resolve_is(self) -> None:
        fn = compile_expression("Patient.link.other.where(resolve() is RelatedPerson)", "Patient")
        assert fn(self.res) == [{"reference": "RelatedPerson/2"}]

    def test_extension(self) -> None:
        assert compile_expression("Patient.extension('u1').value", "Patient")(self.res) == ["x"]

    def test_fallback(self) -> None:
        fn = compile_or_fallback("Patient.deceased.exists() and Patient.deceased != false",
                                 "Patient")
        assert fn(self.res) == [True]


class TestNormalize:
    def test_strings(self) -> None:
        assert norm_string("  Bjørn   ÆRLIG Håkon ") == "bjorn aerlig hakon"
        assert norm_string("Müller-Ødegård") == "muller-odegard"

    def test_date_precision(self) -> None:
        assert date_range("2024") == (dt.datetime(2023, 12, 31, 23), dt.datetime(
            2024, 12, 31, 22, 59, 59, 999999))
        assert date_range("2024-07-01T12:00:00Z") == (
            dt.datetime(2024, 7, 1, 12), dt.datetime(2024, 7, 1, 12, 0, 0, 999999))
        assert date_range("2024-02-30") is None and date_range("2024-01-01T10") is None

    def test_number_precision(self) -> None:
        lo, hi = number_range("100") or (0, 0)
        assert (float(lo), float(hi)) == (99.5, 100.5)
        lo, hi = number_range("1e2") or (0, 0)
        assert (float(lo), float(hi)) == (50.0, 150.0)


async def test_deceased_uses_fallback_expression(session: AsyncSession) -> None:
    await store_all(session, [patient("d1", deceasedDateTime="2020-01-01"),
                              patient("d2", deceasedBoolean=False), patient("d3")])
    assert await ids(session, "Patient", "deceased=true") == {"d1"}
    assert await ids(session, "Patient", "deceased=false") == {"d2", "d3"}
