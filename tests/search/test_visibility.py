"""The consent hook: a visibility clause hides resources everywhere, inside SQL, before paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.tables import ResourceRow
from app.repository.search import visibility
from tests.search.factories import careplan, patient, store_all
from tests.search.helpers import bundle, ids


def _hide_skjult(ctx: Any, res_type: str, pk_column: Any) -> Any:
    """Hide every resource whose id starts with 'skjult' (a stand-in consent rule)."""
    r = aliased(ResourceRow)
    hidden = select(r.pk).where(r.res_id.startswith("skjult")).correlate(None)
    return pk_column.not_in(hidden)


@pytest.fixture
def consent_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(visibility, "visible_clause", _hide_skjult)
    yield


@pytest.fixture
async def data(session: AsyncSession) -> None:
    await store_all(session, [
        patient("synlig", family="Hansen"), patient("skjult-p", family="Hansen"),
        careplan("cp-a", subject="Patient/synlig", status="draft"),
        careplan("cp-b", subject="Patient/skjult-p"),
        careplan("skjult-cp", subject="Patient/synlig", status="revoked"),
        {"resourceType": "Provenance", "id": "skjult-prov", "recorded": "2024-01-01T00:00:00Z",
         "target": [{"reference": "CarePlan/cp-a"}], "agent": [{"who": {"display": "x"}}]},
    ])


@pytest.mark.usefixtures("consent_rule", "data")
class TestHidden:
    async def test_matches_and_total(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "family=hansen")
        assert {e["resource"]["id"] for e in b["entry"]} == {"synlig"} and b["total"] == 1
        assert (await bundle(session, "Patient", "_summary=count"))["total"] == 1

    async def test_include_and_revinclude(self, session: AsyncSession) -> None:
        b = await bundle(session, "CarePlan", "_id=cp-b&_include=CarePlan:subject")
        assert [e["resource"]["id"] for e in b["entry"]] == ["cp-b"]
        b = await bundle(session, "CarePlan", "_id=cp-a&_revinclude=Provenance:target")
        assert [e["resource"]["id"] for e in b["entry"]] == ["cp-a"]

    async def test_chain_target(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", "subject:Patient.family=hansen") == {"cp-a"}

    async def test_has_source(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "_has:CarePlan:subject:status=revoked") == set()
        assert await ids(session, "Patient", "_has:CarePlan:subject:status=draft") == {"synlig"}

    async def test_find_matches(self, session: AsyncSession) -> None:
        from tests.search.helpers import service

        assert [r.res_id for r in await service(session).find_matches(
            "Patient", "family=hansen", limit=5)] == ["synlig"]
