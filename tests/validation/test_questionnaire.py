"""Questionnaire kriseplan-skjema: valid, one group per section, definitions that resolve."""

from __future__ import annotations

from typing import Any

from app.validation.hook import engine, profile_questionnaires, validate_resource
from tests.validation.factories import SECTIONS, SEKSJON


def _form() -> dict[str, Any]:
    (form,) = [q for q in profile_questionnaires() if q["id"] == "kriseplan-skjema"]
    return form


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        out += [item, *_items(item.get("item", []))]
    return out


def test_form_is_a_valid_questionnaire() -> None:
    assert [i for i in validate_resource(_form()) if i.severity == "error"] == []


def test_one_group_per_section_required_except_voldsrisiko() -> None:
    groups = {c["code"]: i for i in _form()["item"] for c in i.get("code", [])
              if c["system"] == SEKSJON}
    assert set(groups) == {*SECTIONS, "voldsrisiko"}
    assert all(groups[s].get("required") for s in SECTIONS)
    assert not groups["voldsrisiko"].get("required")


def test_definitions_point_at_existing_profile_elements() -> None:
    eng = engine()
    for item in _items(_form()["item"]):
        if "definition" not in item:
            continue
        url, element = item["definition"].split("#", 1)
        sd = eng.defs.structure(url)
        assert sd is not None, url
        eng.trees.tree(url)
        assert element in {e["id"] for e in sd["snapshot"]["element"]}, item["definition"]


def test_questionnaires_are_copies() -> None:
    _form()["title"] = "endret"
    assert _form()["title"] != "endret"


def test_profile_resources_are_recognised() -> None:
    from app.validation.hook import is_profile_resource

    assert is_profile_resource("Questionnaire", "kriseplan-skjema")
    assert not is_profile_resource("Questionnaire", "annet")
    assert not is_profile_resource("CarePlan", "kriseplan-skjema")
