"""Fuzz: any parameter name and value gives a Bundle or a FhirError (4xx), never a crash."""

from __future__ import annotations

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
