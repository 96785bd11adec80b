"""Fuzz: any parameter name and value gives a Bundle or a FhirError (4xx), never a crash."""

from __future__ import annotations

import base64

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import FhirError
from app.search.registry import search_params_for
from tests.search.factories import careplan, patient, store_all
from tests.search.helpers import bundle

CODES = sorted({p.code for t in ("Patient", "CarePlan") for p in search_params_for(t)})
MODS = ["", ":missing", ":not", ":text", ":exact", ":contains", ":below", ":above", ":in",
        ":of-type", ":identifier", ":Patient", ":iterate", ":x"]
SPECIAL = ["_sort", "_count", "_include", "_revinclude", "_summary", "_elements", "_total",
           "_cursor", "_type", "_has:CarePlan:subject:status", "_has:x", "subject.name",
           "subject:Patient.identifier", "patient._id", "_has:CarePlan:subject:_has"]
VALUES = st.one_of(
    st.sampled_from(["", "eq2024", "ge2024-02-30", "x|y|z", "|", "a,b,\\,", "Patient/p1",
                     "http://test/fhir/Patient/p1", "-1", "1e400", "nan", "ap", "$", "a$b",
                     "true", "*", "CarePlan:subject", "Patient:link:Patient", "-birthdate",
                     "ø", "\x00", "9" * 400, "%", "_", "1.5|http://unitsofmeasure.org|mg"]),
    st.text(max_size=30),
)
NAMES = st.one_of(st.builds(lambda c, m: c + m, st.sampled_from(CODES), st.sampled_from(MODS)),
                  st.sampled_from(SPECIAL), st.text(max_size=12))


@pytest.fixture
async def data(session: AsyncSession) -> None:
    await store_all(session, [patient("p1"), careplan("c1", subject="Patient/p1")])


@pytest.mark.usefixtures("data")
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(res_type=st.sampled_from(["Patient", "CarePlan", None]),
       params=st.lists(st.tuples(NAMES, VALUES), max_size=4), strict=st.booleans())
async def test_never_crashes(session: AsyncSession, res_type: str | None,
                             params: list[tuple[str, str]], strict: bool) -> None:
    nested = await session.begin_nested()
    try:
        b = await bundle(session, res_type, params, strict=strict)
        assert b["resourceType"] == "Bundle"
    except FhirError as exc:
        assert 400 <= exc.status < 500
        orjson.dumps(exc.outcome())  # the OperationOutcome must render
    finally:
        await nested.rollback()


cursor_keys = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1), st.floats(),
                        st.text(max_size=5), st.just("2024-01-01T00:00:00+02:00"),
                        st.dictionaries(st.text(max_size=2), st.integers(-2**63, 2**64 - 1),
                                        max_size=1))


@pytest.mark.usefixtures("data")
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sort=st.sampled_from(["", "family", "-birthdate", "_id", "-_lastUpdated,family"]),
       direction=st.sampled_from(["n", "p", "x"]), kinds=st.lists(st.sampled_from("dv"),
                                                                   max_size=2),
       keys=st.lists(cursor_keys, max_size=2),
       pk=st.one_of(st.integers(-2**63, 2**64 - 1), st.booleans()))
async def test_forged_cursors_never_crash(session: AsyncSession, sort: str, direction: str,
                                          kinds: list[str], keys: list[object],
                                          pk: object) -> None:
    enc = [[k, v] for k, v in zip(kinds, keys, strict=False)]
    raw = base64.urlsafe_b64encode(orjson.dumps([direction, enc, pk])).decode().rstrip("=")
    params = [("_cursor", raw)] + ([("_sort", sort)] if sort else [])
    nested = await session.begin_nested()
    try:
        await bundle(session, "Patient", params)
    except FhirError as exc:
        assert exc.status == 400
    finally:
        await nested.rollback()
