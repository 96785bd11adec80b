"""string search: starts-with, case- and accent-insensitive (ø, å, æ), :exact, :contains."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.search.factories import patient, store_all
from tests.search.helpers import ids


@pytest.fixture
async def people(session: AsyncSession) -> None:
    await store_all(session, [
        patient("bjorn", family="Bjørnstad", given="Bjørn"),
        patient("aase", family="Åsheim", given="Åse"),
        patient("aerlig", family="Ærlighet", given="Kåre"),
        patient("olsen", family="Olsen", given="Kari",
                address=[{"city": "Tromsø", "line": ["Storgata 1"], "postalCode": "9008"}]),
        patient("dup", family="Bjorn-Olsen", given="Per Øyvind"),
    ])


@pytest.mark.usefixtures("people")
class TestString:
    async def test_starts_with_case_insensitive(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "family=bjørn") == {"bjorn", "dup"}
        assert await ids(session, "Patient", "family=BJØRN") == {"bjorn", "dup"}

    async def test_norwegian_letters_fold(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "family=bjorn") == {"bjorn", "dup"}
        assert await ids(session, "Patient", "family=asheim") == {"aase"}
        assert await ids(session, "Patient", "family=aerlig") == {"aerlig"}
        assert await ids(session, "Patient", "given=kare") == {"aerlig"}
        assert await ids(session, "Patient", "address-city=tromso") == {"olsen"}

    async def test_not_a_substring_by_default(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "family=stad") == set()

    async def test_contains(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "family:contains=STAD") == {"bjorn"}
        assert await ids(session, "Patient", "family:contains=olsen") == {"olsen", "dup"}
        assert await ids(session, "Patient", "family:contains=%") == set()

    async def test_exact_is_case_and_accent_sensitive(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "family:exact=Bjørnstad") == {"bjorn"}
        assert await ids(session, "Patient", "family:exact=bjørnstad") == set()
        assert await ids(session, "Patient", "family:exact=Bjornstad") == set()
        # Canonically equivalent spellings (NFD Å typed on some keyboards) are the same text.
        assert await ids(session, "Patient", "family:exact=A\u030asheim") == {"aase"}

    async def test_name_searches_every_part(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "name=per ø") == {"dup"}
        # Starts-with applies to the whole part, not to each word in it (R4 search.html#string).
        assert await ids(session, "Patient", "name=øyvind") == set()
        assert await ids(session, "Patient", "name=kari,åse") == {"olsen", "aase"}

    async def test_address_parts(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "address=storgata") == {"olsen"}
        assert await ids(session, "Patient", "address-postalcode=9008") == {"olsen"}

    async def test_missing(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "address:missing=false") == {"olsen"}
