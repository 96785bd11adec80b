"""_sort, _count, _total, keyset paging (next/previous), _summary, _elements, unknown params."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import BadRequest
from app.repository.search.paging import encode_cursor
from tests.search.factories import patient, store, store_all
from tests.search.helpers import bundle, link


def _ids(b: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in b.get("entry", []) if e["search"]["mode"] == "match"]


@pytest.fixture
async def people(session: AsyncSession) -> None:
    await store_all(session, [
        patient("a", family="Øvrebø", birth="1990-01-01"),
        patient("b", family="Aas", birth="1980-01-01"),
        patient("c", family="Berg", birth=None),
        patient("d", family="Aas", birth="1985-06-01"),
        patient("e", family="Æsøy", birth="1990-01-01"),
    ])


@pytest.mark.usefixtures("people")
class TestSort:
    async def test_default_order_is_insertion(self, session: AsyncSession) -> None:
        assert _ids(await bundle(session, "Patient", "")) == ["a", "b", "c", "d", "e"]

    async def test_sort_string_folded(self, session: AsyncSession) -> None:
        # Folded: aas, aas, aesoy, berg, ovrebo (ties broken by insertion order).
        assert _ids(await bundle(session, "Patient", "_sort=family")) == [
            "b", "d", "e", "c", "a"]

    async def test_sort_desc_and_missing_last(self, session: AsyncSession) -> None:
        # Ties (a, e share a birth date) break on insertion order in the last key's direction.
        assert _ids(await bundle(session, "Patient", "_sort=-birthdate")) == [
            "e", "a", "d", "b", "c"]
        assert _ids(await bundle(session, "Patient", "_sort=birthdate")) == [
            "b", "d", "a", "e", "c"]

    async def test_several_keys(self, session: AsyncSession) -> None:
        assert _ids(await bundle(session, "Patient", "_sort=-birthdate,-_id")) == [
            "e", "a", "d", "b", "c"]

    async def test_unknown_sort_key_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="_sort"):
            await bundle(session, "Patient", "_sort=nope")


async def _walk(session: AsyncSession, query: str, direction: str = "next"
                ) -> list[list[str]]:
    """Follow next (or previous) links to the end; the pages' ids."""
    b = await bundle(session, "Patient", query)
    pages = [_ids(b)]
    while (params := link(b, direction)) is not None:
        b = await bundle(session, "Patient", params)
        pages.append(_ids(b))
    return pages


@pytest.mark.usefixtures("people")
class TestPaging:
    @pytest.mark.parametrize("sort", ["", "_sort=family", "_sort=-birthdate,_id",
                                      "_sort=birthdate", "_sort=-_lastUpdated",
                                      "_sort=-family,-birthdate"])
    async def test_every_resource_exactly_once(self, session: AsyncSession, sort: str) -> None:
        pages = await _walk(session, f"_count=2&{sort}")
        flat = [i for p in pages for i in p]
        assert sorted(flat) == ["a", "b", "c", "d", "e"]
        assert [len(p) for p in pages] == [2, 2, 1]
        whole = _ids(await bundle(session, "Patient", f"_count=50&{sort}"))
        assert flat == whole

    async def test_previous_walks_back(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "_count=2&_sort=family")
        b2 = await bundle(session, "Patient", link(b, "next") or [])
        b3 = await bundle(session, "Patient", link(b2, "next") or [])
        back = await bundle(session, "Patient", link(b3, "previous") or [])
        assert _ids(back) == _ids(b2)
        first = await bundle(session, "Patient", link(back, "previous") or [])
        assert _ids(first) == _ids(b) and link(first, "previous") is None

    async def test_pages_stable_while_others_write(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "_count=2")
        await store(session, patient("new"))
        rest = await bundle(session, "Patient", link(b, "next") or [])
        rest2 = await bundle(session, "Patient", link(rest, "next") or [])
        assert _ids(b) + _ids(rest) + _ids(rest2) == ["a", "b", "c", "d", "e", "new"]
        # The total is counted once, on the first page, and carried by the cursors.
        assert b["total"] == rest["total"] == rest2["total"] == 5

    async def test_total(self, session: AsyncSession) -> None:
        assert (await bundle(session, "Patient", "_count=2"))["total"] == 5
        assert "total" not in await bundle(session, "Patient", "_count=2&_total=none")
        assert (await bundle(session, "Patient", "family=aas&_total=accurate"))["total"] == 2

    async def test_count_zero_and_summary_count(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "_count=0")
        assert b["total"] == 5 and "entry" not in b
        b = await bundle(session, "Patient", "_summary=count&family=aas")
        assert b["total"] == 2 and "entry" not in b

    @pytest.mark.parametrize("bad", ["-1", "x", "1.5"])
    async def test_bad_count_is_400(self, session: AsyncSession, bad: str) -> None:
        with pytest.raises(BadRequest, match="_count"):
            await bundle(session, "Patient", f"_count={bad}")

    async def test_tampered_cursor_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="_cursor"):
            await bundle(session, "Patient", "_cursor=bm9wZQ")

    async def test_cursor_of_another_sort_is_400(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "_count=2&_sort=birthdate")
        cursor = dict(link(b, "next") or [])["_cursor"]
        with pytest.raises(BadRequest, match="_cursor"):
            await bundle(session, "Patient", [("_sort", "family"), ("_cursor", cursor)])
        odd = encode_cursor("n", [{"x": 1}], 1)
        with pytest.raises(BadRequest, match="_cursor"):
            await bundle(session, "Patient", [("_sort", "_id"), ("_cursor", odd)])


@pytest.mark.usefixtures("people")
class TestShape:
    async def test_elements(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "_id=a&_elements=birthDate")
        res = b["entry"][0]["resource"]
        assert "birthDate" in res and "name" not in res
        assert res["meta"]["tag"][0]["code"] == "SUBSETTED"

    async def test_summary_true(self, session: AsyncSession) -> None:
        res = (await bundle(session, "Patient", "_id=a&_summary=true"))["entry"][0]["resource"]
        assert "name" in res and res["meta"]["tag"][0]["code"] == "SUBSETTED"

    async def test_summary_text_and_data(self, session: AsyncSession) -> None:
        res = (await bundle(session, "Patient", "_id=a&_summary=data"))["entry"][0]["resource"]
        assert "name" in res and "text" not in res
        res = (await bundle(session, "Patient", "_id=a&_summary=text"))["entry"][0]["resource"]
        assert "name" not in res and res["id"] == "a"

    async def test_or_list_is_bounded(self, session: AsyncSession) -> None:
        many = ",".join(f"id{i}" for i in range(499)) + ",a"
        assert _ids(await bundle(session, "Patient", f"_id={many}")) == ["a"]
        with pytest.raises(BadRequest, match="at most 500"):
            await bundle(session, "Patient", "_id=" + ",".join(str(i) for i in range(501)))

    async def test_total_values_are_bounded(self, session: AsyncSession) -> None:
        five = [("family", ",".join(f"x{i}" for i in range(450))) for _ in range(5)]
        with pytest.raises(BadRequest, match="At most 2000 search values"):
            await bundle(session, "Patient", five)
        with pytest.raises(BadRequest, match="At most 60 search criteria"):
            await bundle(session, "Patient", [("gender", "male")] * 61)

    async def test_links_use_base(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "family=aas")
        assert b["link"][0] == {"relation": "self",
                                "url": "http://test/fhir/Patient?family=aas"}
        assert b["entry"][0]["fullUrl"] == "http://test/fhir/Patient/b"


@pytest.mark.usefixtures("people")
class TestUnknown:
    async def test_lenient_ignores_and_reports(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "family=aas&nope=1")
        assert _ids(b) == ["b", "d"]
        assert "nope" not in b["link"][0]["url"]
        oo = [e for e in b["entry"] if e["search"]["mode"] == "outcome"]
        assert oo and "nope" in oo[0]["resource"]["issue"][0]["diagnostics"]

    async def test_strict_rejects(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="nope"):
            await bundle(session, "Patient", "family=aas&nope=1", strict=True)
