"""date search: precision ranges, every prefix, periods, _lastUpdated."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import BadRequest
from tests.search.factories import careplan, patient, store, store_all
from tests.search.helpers import ids


@pytest.fixture
async def born(session: AsyncSession) -> None:
    await store_all(session, [
        patient("y2023", birth="2023-12-31"),
        patient("jan", birth="2024-01-15"),
        patient("feb29", birth="2024-02-29"),
        patient("dec", birth="2024-12-31"),
        patient("y2025", birth="2025-01-01"),
        patient("month", birth="2024-03"),
        patient("year", birth="2024"),
        patient("none", birth=None),
    ])


@pytest.mark.usefixtures("born")
class TestPrecision:
    async def test_year_matches_whole_year(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "birthdate=2024") == {
            "jan", "feb29", "dec", "month", "year"}

    async def test_month(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "birthdate=2024-02") == {"feb29"}
        assert await ids(session, "Patient", "birthdate=2024-03") == {"month"}

    async def test_day_does_not_match_coarser_value(self, session: AsyncSession) -> None:
        # 2024-03 (a month) is not within the day 2024-03-05: eq needs containment.
        assert await ids(session, "Patient", "birthdate=2024-03-05") == set()
        assert await ids(session, "Patient", "birthdate=2024-02-29") == {"feb29"}

    async def test_gt_lt(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "birthdate=gt2024") == {"y2025"}
        assert await ids(session, "Patient", "birthdate=lt2024") == {"y2023"}
        assert await ids(session, "Patient", "birthdate=gt2024-12-30") == {"dec", "y2025", "year"}

    async def test_ge_le(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "birthdate=ge2024-12") == {"dec", "y2025"}
        assert await ids(session, "Patient", "birthdate=le2024-01-15") == {"y2023", "jan", "year"}

    async def test_ne(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "birthdate=ne2024") == {"y2023", "y2025"}

    async def test_sa_eb(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "birthdate=sa2024-02-29") == {"month", "dec", "y2025"}
        assert await ids(session, "Patient", "birthdate=eb2024-01-15") == {"y2023"}

    async def test_ap(self, session: AsyncSession) -> None:
        # ap widens by 10 % of the distance to now: for dates ~2 years back that is > 2 months.
        found = await ids(session, "Patient", "birthdate=ap2024-02-29")
        assert {"jan", "feb29", "month", "year"} <= found

    async def test_and_makes_a_range(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient",
                         "birthdate=ge2024-01-01&birthdate=lt2024-03-01") == {"jan", "feb29",
                                                                             "year"}
        # "2024" (a whole year) starts before March and ends after 1 January: both hold.

    async def test_datetime_with_zone(self, session: AsyncSession) -> None:
        # 2024-01-15 is an Oslo day: 2024-01-14T23:00Z .. 2024-01-15T22:59:59Z.
        assert await ids(session, "Patient", "birthdate=gt2024-01-15T22:30:00Z") == {
            "jan", "feb29", "dec", "y2025", "month", "year"}

    @pytest.mark.parametrize("bad", ["2024-13", "2024-02-30", "xx2024", "2024-01-01T10",
                                     "24", "gt", "2024/01/01"])
    async def test_malformed_is_400_naming_parameter(self, session: AsyncSession,
                                                     bad: str) -> None:
        with pytest.raises(BadRequest, match="birthdate"):
            await ids(session, "Patient", f"birthdate={bad}")


async def test_period_overlap(session: AsyncSession) -> None:
    await store_all(session, [
        careplan("h1", period={"start": "2024-01-01", "end": "2024-06-30"}),
        careplan("h2", period={"start": "2024-06-01"}),  # open-ended
        careplan("old", period={"start": "2020-01-01", "end": "2020-12-31"}),
    ])
    assert await ids(session, "CarePlan", "date=2024-03") == set()  # no period inside March
    assert await ids(session, "CarePlan", "date=ge2024-03-01&date=le2024-03-31") == {"h1"}
    assert await ids(session, "CarePlan", "date=gt2024-12-31") == {"h2"}
    assert await ids(session, "CarePlan", "date=eq2020") == {"old"}
    assert await ids(session, "CarePlan", "date=sa2023") == {"h1", "h2"}
    assert await ids(session, "CarePlan", "date=eb2024") == {"old"}


async def test_last_updated(session: AsyncSession) -> None:
    await store(session, patient("early"), when=dt.datetime(2024, 1, 1, 8, 0))
    await store(session, patient("late"), when=dt.datetime(2024, 6, 1, 8, 0))
    assert await ids(session, "Patient", "_lastUpdated=ge2024-03-01") == {"late"}
    assert await ids(session, "Patient", "_lastUpdated=2024-01-01") == {"early"}
    assert await ids(session, "Patient", "_lastUpdated=lt2024-01-01T09:00:00Z") == {"early"}
