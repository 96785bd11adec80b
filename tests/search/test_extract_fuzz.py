"""Extraction never fails a write: arbitrary JSON shapes under real element names."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.fhir.models import SERVED_TYPES
from app.search.extract import extract_rows

KEYS = ["name", "family", "given", "identifier", "system", "value", "code", "coding", "text",
        "subject", "reference", "period", "start", "end", "birthDate", "status", "low", "high",
        "useContext", "valueQuantity", "valueRange", "valueCodeableConcept", "telecom", "type",
        "address", "city", "meta", "tag", "profile", "extension", "url", "valueReference",
        "deceasedBoolean", "deceasedDateTime", "category", "event", "repeat", "boundsPeriod",
        "activity", "detail", "scheduledTiming", "target", "agent", "who", "recorded", "item"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["2024-01-01", "Patient/1", "x|y"]))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(res_type=st.sampled_from(SERVED_TYPES),
       body=st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8))
def test_extract_never_raises(res_type: str, body: dict[str, Any]) -> None:
    rows = extract_rows(res_type, {"resourceType": res_type, **body})
    for table_rows in rows.values():
        for row in table_rows:
            assert isinstance(row["param"], str)
