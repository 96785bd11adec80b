"""Link rewriting inside transactions: which elements are links, and which are not.

https://hl7.org/fhir/R4/http.html#trules: references, uri/url/oid/uuid elements and narrative
<a href>/<img src> are replaced; canonical and string elements are not.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.bundle_refs import LinkRewriter, type_table

PAT = "urn:uuid:0f3a8a36-7a3f-4e0a-9d4b-0c4b7f2b6a11"
DOC = "urn:oid:2.16.578.1.12.4.1.2.99999"
TARGETS = {PAT: "Patient/kari", DOC: "DocumentReference/d1"}


def rewrite(resource: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    out = copy.deepcopy(resource)
    left = LinkRewriter(dict(TARGETS)).rewrite(out)
    return out, [(u.expression, u.reference) for u in left]


def test_references_in_nested_backbone_elements_and_extensions() -> None:
    plan = {"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": {"reference": PAT},
            "activity": [{"detail": {"status": "scheduled", "performer": [
                {"reference": PAT, "display": "Kari"}, {"reference": "#local"}]}}],
            "extension": [{"url": "https://example.org/x", "valueReference": {"reference": PAT}},
                          {"url": "https://example.org/y", "extension": [
                              {"url": "z", "valueReference": {"reference": PAT + "#frag"}}]}]}
    out, left = rewrite(plan)
    assert left == []
    assert out["subject"] == {"reference": "Patient/kari"}
    assert out["activity"][0]["detail"]["performer"] == [
        {"reference": "Patient/kari", "display": "Kari"}, {"reference": "#local"}]
    assert out["extension"][0]["valueReference"]["reference"] == "Patient/kari"
    assert out["extension"][1]["extension"][0]["valueReference"]["reference"] == "Patient/kari#frag"


def test_contained_resources_and_primitive_extensions() -> None:
    team = {"resourceType": "CareTeam",
            "contained": [{"resourceType": "RelatedPerson", "id": "nabo",
                           "patient": {"reference": PAT}}],
            "_name": {"extension": [{"url": "https://example.org/by",
                                     "valueReference": {"reference": PAT}}]},
            "name": "Team"}
    out, left = rewrite(team)
    assert left == []
    assert out["contained"][0]["patient"]["reference"] == "Patient/kari"
    assert out["_name"]["extension"][0]["valueReference"]["reference"] == "Patient/kari"


def test_uri_types_are_rewritten_but_strings_and_canonicals_are_not() -> None:
    patient = {"resourceType": "Patient",
               "identifier": [{"system": "urn:ietf:rfc:3986", "value": PAT}],
               "photo": [{"url": PAT}],
               "meta": {"profile": [PAT], "source": PAT},
               "extension": [{"url": "https://example.org/u", "valueUri": DOC},
                             {"url": "https://example.org/c", "valueCanonical": DOC},
                             {"url": "https://example.org/s", "valueString": PAT}]}
    out, _ = rewrite(patient)
    assert out["identifier"][0]["value"] == PAT  # Identifier.value is a string
    assert out["photo"][0]["url"] == "Patient/kari"  # Attachment.url is a url
    assert out["meta"] == {"profile": [PAT], "source": "Patient/kari"}  # canonical kept
    assert [e.get("valueUri") or e.get("valueCanonical") or e.get("valueString")
            for e in out["extension"]] == ["DocumentReference/d1", DOC, PAT]


def test_narrative_links() -> None:
    div = (f'<div xmlns="http://www.w3.org/1999/xhtml"><a href="{PAT}">Kari</a> '
           f"<img src='{DOC}'/> <a href=\"urn:uuid:00000000-0000-0000-0000-000000000000\">x</a>"
           f"<p>{PAT}</p></div>")
    out, _ = rewrite({"resourceType": "Patient", "text": {"status": "generated", "div": div}})
    assert '<a href="Patient/kari">Kari</a>' in out["text"]["div"]
    assert "<img src='DocumentReference/d1'/>" in out["text"]["div"]
    assert 'href="urn:uuid:00000000-0000-0000-0000-000000000000"' in out["text"]["div"]
    assert f"<p>{PAT}</p>" in out["text"]["div"]  # text, not a link


def test_recursive_questionnaire_items() -> None:
    questionnaire = {"resourceType": "Questionnaire", "status": "active", "item": [
        {"linkId": "1", "type": "group", "item": [
            {"linkId": "1.1", "type": "reference", "enableWhen": [
                {"question": "1", "operator": "=", "answerReference": {"reference": PAT}}],
             "initial": [{"valueUri": PAT}]}]}]}
    out, _ = rewrite(questionnaire)
    inner = out["item"][0]["item"][0]
    assert inner["enableWhen"][0]["answerReference"]["reference"] == "Patient/kari"
    assert inner["initial"][0]["valueUri"] == "Patient/kari"


def test_unresolved_placeholders_and_conditional_references_are_reported() -> None:
    other = "urn:uuid:7d5e1a0c-1111-4222-8333-944455556666"
    goal = {"resourceType": "Goal", "subject": {"reference": other},
            "addresses": [{"reference": "Condition/1"},
                          {"reference": "Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|1"}],
            "expressedBy": {"reference": "https://other.example/fhir/Patient/1"}}
    out, left = rewrite(goal)
    assert left == [
        ("Goal.subject.reference", other),
        ("Goal.addresses[1].reference", "Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|1"),
    ]
    assert out == goal


def test_junk_shapes_do_not_break_the_walk() -> None:
    odd = {"resourceType": "CarePlan", "subject": "Patient/1", "activity": {"detail": 3},
           "goal": [None, 1, {"reference": 5}], "unknown": {"reference": PAT},
           "contained": [{"resourceType": "Nope", "x": PAT}]}
    out, left = rewrite(odd)
    assert out == odd and left == []


def test_type_table_knows_choice_and_content_references() -> None:
    table = type_table()
    assert table["Extension"]["valueReference"] == "Reference"
    assert table["Questionnaire"]["item.item"] == "#item"
    assert table["CarePlan"]["activity.detail"] == "@activity.detail"
    assert table["Attachment"]["url"] == "url"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([PAT, DOC, "Patient/1", "x"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["reference", "subject", "url", "div", "extension",
                                       "valueUri", "contained", "item", "text", "_status"]),
                      children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.sampled_from(["subject", "text", "activity", "contained",
                                             "extension", "identifier", "_status"]),
                            _json, max_size=5))
def test_any_json_shape_is_walked_without_error(body: dict[str, Any]) -> None:
    """Whatever a client sends (structure is checked afterwards), the walk never crashes and
    only ever replaces placeholders with their targets."""
    resource = {"resourceType": "CarePlan", **body}
    out, left = rewrite(resource)
    assert not any(u[1] in TARGETS for u in left)
    flat_in, flat_out = _strings(resource), _strings(out)
    assert len(flat_in) == len(flat_out)
    for before, after in zip(flat_in, flat_out, strict=True):
        assert after == before or (before in TARGETS and after == TARGETS[before])


def _strings(value: Any) -> list[str]:
    """Every string leaf, in document order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
