"""reference, uri, quantity and composite search."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import BadRequest
from tests.search.factories import FNR, careplan, patient, store_all
from tests.search.helpers import SETTINGS, ids

UCUM = "http://unitsofmeasure.org"


def questionnaire(qid: str, url: str, use_context: list[dict[str, Any]]) -> dict[str, Any]:
    """A Questionnaire with use contexts."""
    return {"resourceType": "Questionnaire", "id": qid, "url": url, "status": "active",
            "useContext": use_context}


def ctx(code: str, value: dict[str, Any]) -> dict[str, Any]:
    """A useContext with a CodeableConcept or Quantity/Range value."""
    coding = {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": code}
    key = "valueCodeableConcept" if "coding" in value else (
        "valueRange" if "low" in value else "valueQuantity")
    return {"code": coding, key: value}


@pytest.fixture
async def plans(session: AsyncSession) -> None:
    await store_all(session, [
        patient("p1"), patient("p2"),
        careplan("c1", subject="Patient/p1", careTeam=[{"reference": "CareTeam/t1"}]),
        careplan("c2", subject=f"{SETTINGS.base}/Patient/p2"),
        careplan("c3", subject="http://annen.example/fhir/Patient/p1"),
        careplan("c4", subject="Patient/p1/_history/3",
                 instantiatesCanonical=["https://fellesplan.no/fhir/Questionnaire/krise|2.0"]),
        {"resourceType": "CarePlan", "id": "c5", "status": "active", "intent": "plan",
         "subject": {"identifier": {"system": FNR, "value": "17058012345"}}},
    ])


@pytest.mark.usefixtures("plans")
class TestReference:
    async def test_type_and_id(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", "subject=Patient/p1") == {"c1", "c4"}

    async def test_plain_id(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", "subject=p2") == {"c2"}

    async def test_absolute_on_our_base_is_local(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", f"subject={SETTINGS.base}/Patient/p1") == {
            "c1", "c4"}

    async def test_foreign_absolute_url(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan",
                         "subject=http://annen.example/fhir/Patient/p1") == {"c3"}

    async def test_type_modifier(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", "subject:Patient=p1") == {"c1", "c4"}
        assert await ids(session, "CarePlan", "subject:Group=p1") == set()

    async def test_identifier_modifier(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", f"subject:identifier={FNR}|17058012345") == {"c5"}

    async def test_canonical_with_and_without_version(self, session: AsyncSession) -> None:
        url = "https://fellesplan.no/fhir/Questionnaire/krise"
        assert await ids(session, "CarePlan", f"instantiates-canonical={url}") == {"c4"}
        assert await ids(session, "CarePlan", f"instantiates-canonical={url}|2.0") == {"c4"}
        assert await ids(session, "CarePlan", f"instantiates-canonical={url}|1.0") == set()

    async def test_missing(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", "care-team:missing=false") == {"c1"}

    async def test_contradicting_type_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="subject:Group"):
            await ids(session, "CarePlan", "subject:Group=Patient/p1")


@pytest.fixture
async def forms(session: AsyncSession) -> None:
    await store_all(session, [
        questionnaire("q1", "https://fellesplan.no/fhir/Questionnaire/krise", [
            ctx("focus", {"coding": [{"system": "http://snomed.info/sct", "code": "74732009"}]}),
            ctx("age", {"low": {"value": 18, "unit": "a", "system": UCUM, "code": "a"},
                        "high": {"value": 24, "unit": "a", "system": UCUM, "code": "a"}}),
        ]),
        questionnaire("q2", "https://fellesplan.no/fhir/Questionnaire/ip/v2", [
            ctx("age", {"value": 40, "unit": "a", "system": UCUM, "code": "a"}),
        ]),
        questionnaire("q3", "http://hl7.org/fhir/Questionnaire/annet", []),
    ])


@pytest.mark.usefixtures("forms")
class TestUriQuantityComposite:
    async def test_uri_exact(self, session: AsyncSession) -> None:
        assert await ids(session, "Questionnaire",
                         "url=https://fellesplan.no/fhir/Questionnaire/krise") == {"q1"}
        assert await ids(session, "Questionnaire", "url=https://fellesplan.no/fhir") == set()

    async def test_uri_below(self, session: AsyncSession) -> None:
        assert await ids(session, "Questionnaire",
                         "url:below=https://fellesplan.no/fhir/") == {"q1", "q2"}

    async def test_uri_above(self, session: AsyncSession) -> None:
        assert await ids(session, "Questionnaire",
                         "url:above=https://fellesplan.no/fhir/Questionnaire/krise/x/y") == {"q1"}

    async def test_quantity_prefixes(self, session: AsyncSession) -> None:
        assert await ids(session, "Questionnaire", "context-quantity=40") == {"q2"}
        assert await ids(session, "Questionnaire", "context-quantity=gt30") == {"q2"}
        assert await ids(session, "Questionnaire", "context-quantity=lt20") == {"q1"}
        assert await ids(session, "Questionnaire", f"context-quantity=40|{UCUM}|a") == {"q2"}
        assert await ids(session, "Questionnaire", f"context-quantity=40|{UCUM}|mg") == set()
        assert await ids(session, "Questionnaire", "context-quantity=ap41") == {"q2"}

    async def test_quantity_range_containment(self, session: AsyncSession) -> None:
        # eq: the stored range [18, 24] must lie within 2e1 = [15, 25).
        assert await ids(session, "Questionnaire", "context-quantity=2e1") == {"q1"}

    async def test_composite_token_token(self, session: AsyncSession) -> None:
        assert await ids(session, "Questionnaire",
                         "context-type-value=focus$http://snomed.info/sct|74732009") == {"q1"}
        assert await ids(session, "Questionnaire",
                         "context-type-value=age$74732009") == set()

    async def test_composite_token_quantity(self, session: AsyncSession) -> None:
        assert await ids(session, "Questionnaire", "context-type-quantity=age$gt30") == {"q2"}
        assert await ids(session, "Questionnaire", "context-type-quantity=focus$gt30") == set()

    async def test_bad_number_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="context-quantity"):
            await ids(session, "Questionnaire", "context-quantity=gtx")


def _num_ok(stored: float, prefix: str, query: str) -> bool:
    """Spec number semantics for a single stored value (search.html#number, #prefix)."""
    q = float(query)
    exp = len(query.split(".")[1]) if "." in query else 0
    half = 0.5 * 10 ** -exp
    inside = q - half <= stored < q + half
    return {"eq": inside, "ne": not inside, "gt": stored > q, "lt": stored < q,
            "ge": stored >= q, "le": stored <= q, "sa": stored > q, "eb": stored < q,
            "ap": abs(stored - q) <= abs(q) * 0.1}[prefix]


async def test_quantity_prefix_grid(session: AsyncSession) -> None:
    stored = {"n1": 10.0, "n2": 19.6, "n3": 20.0, "n4": 20.4, "n5": 20.5, "n6": 30.0}
    await store_all(session, [
        questionnaire(k, f"https://fellesplan.no/fhir/Questionnaire/{k}",
                      [ctx("age", {"value": v, "unit": "a", "system": UCUM, "code": "a"})])
        for k, v in stored.items()])
    failures = []
    for prefix in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"):
        for query in ("20", "20.0", "10", "30", "22"):
            got = await ids(session, "Questionnaire", f"context-quantity={prefix}{query}")
            want = {k for k, v in stored.items() if _num_ok(v, prefix, query)}
            if got != want:
                failures.append(f"{prefix}{query}: {sorted(got)} != {sorted(want)}")
    assert not failures, "\n".join(failures)
