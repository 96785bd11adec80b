"""token search: code, system|code, |code, system|, :not, :text, :missing, :of-type, :in."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import BadRequest
from tests.search.factories import FNR, patient, store_all
from tests.search.helpers import ids

DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@pytest.fixture
async def people(session: AsyncSession) -> None:
    await store_all(session, [
        patient("a", fnr="17058012345", gender="male", active=True),
        patient("b", gender="female", active=False,
                identifier=[{"system": DNR, "value": "41018012345",
                             "type": {"coding": [{"system": V2, "code": "NNNOR"}]}}]),
        patient("c", gender="female", identifier=[{"value": "lokal-1"}],
                maritalStatus={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                                           "code": "M", "display": "Gift"}],
                               "text": "Gift, bor sammen"}),
        patient("d", communication=[{"language": {"coding": [
            {"system": "urn:ietf:bcp:47", "code": "nb", "display": "Norsk bokmål"}]}}]),
    ])


@pytest.mark.usefixtures("people")
class TestToken:
    async def test_code_only_matches_any_system(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "gender=female") == {"b", "c"}
        assert await ids(session, "Patient", "identifier=17058012345") == {"a"}

    async def test_system_and_code(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", f"identifier={FNR}|17058012345") == {"a"}
        assert await ids(session, "Patient", f"identifier={DNR}|17058012345") == set()

    async def test_no_system(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "identifier=|lokal-1") == {"c"}
        assert await ids(session, "Patient", "identifier=|17058012345") == set()

    async def test_any_code_in_system(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", f"identifier={DNR}|") == {"b"}

    async def test_or_and_and(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "gender=male,female") == {"a", "b", "c"}
        assert await ids(session, "Patient", "gender=female&active=false") == {"b"}

    async def test_boolean(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "active=true") == {"a"}

    async def test_not_includes_resources_without_value(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "gender:not=female") == {"a", "d"}

    async def test_missing(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "gender:missing=true") == {"d"}
        assert await ids(session, "Patient", "gender:missing=false") == {"a", "b", "c"}

    async def test_text_matches_display_and_text(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "language:text=norsk") == {"d"}
        assert await ids(session, "Patient", "language:text=NORSK BOKMAL") == {"d"}

    async def test_of_type(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient",
                         f"identifier:of-type={V2}|NNNOR|41018012345") == {"b"}
        assert await ids(session, "Patient", f"identifier:of-type={V2}|MR|41018012345") == set()

    async def test_of_type_needs_three_parts(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="identifier:of-type"):
            await ids(session, "Patient", "identifier:of-type=x|y")

    async def test_unknown_modifier_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="gender:below"):
            await ids(session, "Patient", "gender:below=x")

    async def test_id(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "_id=a,c") == {"a", "c"}
        assert await ids(session, "Patient", "_id:not=a") == {"b", "c", "d"}

    async def test_id_modifiers_are_limited(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="_id:text"):
            await ids(session, "Patient", "_id:text=a")

    async def test_escaped_comma_is_one_value(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "identifier=lokal\\,1") == set()
