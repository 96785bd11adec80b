"""Snapshot generation from differentials."""

from __future__ import annotations

from typing import Any

import pytest

from app.validation.definitions import load_definitions
from app.validation.snapshot import SnapshotError, ensure_snapshot

B = "https://fellesplan.no/fhir/StructureDefinition/"


def _elements(url: str) -> dict[str, dict[str, Any]]:
    defs = load_definitions()
    ensure_snapshot(defs, url)
    sd = defs.structure(url)
    assert sd is not None
    return {e["id"]: e for e in sd["snapshot"]["element"]}


def test_slices_are_created_after_the_sliced_element_with_their_children() -> None:
    els = _elements(B + "kriseplan")
    ids = list(els)
    assert ids.index("CarePlan.activity") < ids.index("CarePlan.activity:tidlige-tegn")
    assert els["CarePlan.activity:kontakter"]["sliceName"] == "kontakter"
    assert els["CarePlan.activity:kontakter"]["max"] == "1"
    assert els["CarePlan.activity:kontakter.detail.description"]["min"] == 1
    assert els["CarePlan.activity"]["slicing"]["rules"] == "closed"
    assert "slicing" not in els["CarePlan.activity:kontakter"]


def test_constraints_accumulate_on_the_base() -> None:
    keys = [c["key"] for c in _elements(B + "kriseplan")["CarePlan"]["constraint"]]
    assert {"dom-2", "dom-6", "kp-1", "kp-4"} <= set(keys)


def test_data_types_expand_when_the_differential_goes_inside() -> None:
    els = _elements(B + "fellesplan-organization")
    system = els["Organization.type:tjenestetype.coding.system"]
    assert system["fixedUri"] == "https://fellesplan.no/fhir/CodeSystem/tjenestetype"
    assert system["path"] == "Organization.type.coding.system"
    # no-basis slices stay, ours is added after them
    ids = list(els)
    assert ids.index("Organization.type:organisatoriskBetegnelse") < ids.index(
        "Organization.type:tjenestetype")


def test_derived_from_no_basis_keeps_its_rules() -> None:
    els = _elements(B + "fellesplan-patient")
    assert els["Patient.identifier:FNR.system"]["fixedUri"] == "urn:oid:2.16.578.1.12.4.1.4.1"
    assert els["Patient.name"]["min"] == 1


def test_a_differential_naming_an_unknown_element_fails_at_start() -> None:
    defs = load_definitions()
    url = B + "broken"
    defs.add({"resourceType": "StructureDefinition", "url": url, "type": "CarePlan",
              "baseDefinition": "http://hl7.org/fhir/StructureDefinition/CarePlan",
              "differential": {"element": [{"id": "CarePlan.nope", "path": "CarePlan.nope"}]}},
             publish=False)
    with pytest.raises(SnapshotError):
        ensure_snapshot(defs, url)
