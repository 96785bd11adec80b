"""Patient compartment search, $everything, system search, :in, find_matches."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import BadRequest
from app.operations import everything
from tests.search.factories import FNR, careplan, patient, store_all
from tests.search.helpers import bundle, ids, service

GENDER = "http://hl7.org/fhir/administrative-gender"


@pytest.fixture
async def records(session: AsyncSession) -> None:
    await store_all(session, [
        patient("p1", fnr="17058012345", gender="female",
                link=[{"other": {"reference": "Patient/p3"}, "type": "seealso"}]),
        patient("p2", fnr="01018012345", gender="male"),
        patient("p3", gender="other"),
        careplan("cp1", subject="Patient/p1"),
        careplan("cp2", subject="Patient/p2"),
        {"resourceType": "Consent", "id": "k1", "status": "active",
         "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                               "code": "patient-privacy"}]},
         "category": [{"text": "Samtykke"}], "patient": {"reference": "Patient/p1"},
         "performer": [{"reference": "Organization/o1"}]},
        {"resourceType": "Organization", "id": "o1", "name": "DPS Tromsø"},
        {"resourceType": "RelatedPerson", "id": "rp1", "patient": {"reference": "Patient/p1"},
         "name": [{"family": "Nordmann", "given": ["Kari"]}]},
    ])


def _keys(b: dict[str, Any], mode: str = "match") -> set[str]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in b.get("entry", []) if e["search"]["mode"] == mode}


@pytest.mark.usefixtures("records")
class TestCompartment:
    async def test_type_in_compartment(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", "", compartment=("Patient", "p1")) == {"cp1"}
        assert await ids(session, "Consent", "status=active",
                         compartment=("Patient", "p1")) == {"k1"}
        assert await ids(session, "Consent", "", compartment=("Patient", "p2")) == set()

    async def test_patient_in_own_compartment_and_linked(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "", compartment=("Patient", "p1")) == {"p1"}
        assert await ids(session, "Patient", "", compartment=("Patient", "p3")) == {"p1", "p3"}

    async def test_type_outside_compartment_is_empty(self, session: AsyncSession) -> None:
        assert await ids(session, "Organization", "", compartment=("Patient", "p1")) == set()

    async def test_all_types(self, session: AsyncSession) -> None:
        b = await bundle(session, None, "", compartment=("Patient", "p1"))
        assert _keys(b) == {"Patient/p1", "CarePlan/cp1", "Consent/k1", "RelatedPerson/rp1"}

    async def test_everything_params(self) -> None:
        assert everything.search_params([("_since", "2024-01-01"), ("_count", "5")]) == [
            ("_include", "*"), ("_lastUpdated", "ge2024-01-01"), ("_count", "5")]

    async def test_everything_shape(self, session: AsyncSession) -> None:
        b = await bundle(session, None, everything.search_params([]),
                         compartment=("Patient", "p1"))
        assert _keys(b) == {"Patient/p1", "CarePlan/cp1", "Consent/k1", "RelatedPerson/rp1"}
        assert _keys(b, "include") == {"Organization/o1", "Patient/p3"}


@pytest.mark.usefixtures("records")
class TestSystemAndIn:
    async def test_system_search_by_id(self, session: AsyncSession) -> None:
        b = await bundle(session, None, "_id=p1,cp1,o1")
        assert _keys(b) == {"Patient/p1", "CarePlan/cp1", "Organization/o1"}

    async def test_system_search_type_filter(self, session: AsyncSession) -> None:
        b = await bundle(session, None, "_type=Organization,Consent")
        assert _keys(b) == {"Organization/o1", "Consent/k1"}

    async def test_system_search_shared_parameter(self, session: AsyncSession) -> None:
        b = await bundle(session, None, "gender=female&_type=Patient,RelatedPerson")
        assert _keys(b) == {"Patient/p1"}
        b = await bundle(session, None, "_type=Patient,Organization&gender=female")
        assert _keys(b) == {"Patient/p1", "Patient/p2", "Patient/p3", "Organization/o1"}
        assert any(e["search"]["mode"] == "outcome" for e in b["entry"])  # gender ignored

    async def test_implicit_code_system(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", f"gender={GENDER}|female") == {"p1"}
        assert await ids(session, "Patient", "gender=http://annet.example|female") == set()

    async def test_in_value_set(self, session: AsyncSession) -> None:
        vs = "http://hl7.org/fhir/ValueSet/administrative-gender"
        assert await ids(session, "Patient", f"gender:in={vs}") == {"p1", "p2", "p3"}
        assert await ids(session, "Patient", f"gender:not-in={vs}") == set()

    async def test_unknown_value_set_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="gender:in"):
            await ids(session, "Patient", "gender:in=http://ukjent.example/vs")

    async def test_text_on_codeable_concept_text(self, session: AsyncSession) -> None:
        assert await ids(session, "Consent", "category:text=samtykke") == {"k1"}


@pytest.mark.usefixtures("records")
class TestFindMatches:
    async def test_one_and_many(self, session: AsyncSession) -> None:
        svc = service(session)
        assert [r.res_id for r in await svc.find_matches(
            "Patient", f"identifier={FNR}|17058012345")] == ["p1"]
        assert len(await svc.find_matches("Patient", "gender=female,male", limit=2)) == 2
        assert await svc.find_matches("Patient", "identifier=nei") == []

    async def test_strict(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="ukjent"):
            await service(session).find_matches("Patient", "ukjent=1")
        with pytest.raises(BadRequest, match="birthdate"):
            await service(session).find_matches("Patient", "birthdate=igår")
        with pytest.raises(BadRequest):
            await service(session).find_matches("Patient", "")
        with pytest.raises(BadRequest, match="criteria"):
            await service(session).find_matches("Patient", "identifier=&_count=1")

    async def test_empty_value_is_ignored(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "gender=&_id=p1") == {"p1"}
