"""`_summary` and `_elements` (https://hl7.org/fhir/R4/search.html#summary, #elements)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from app.fhir.errors import BadRequest

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
SUMMARY_MODES = ("true", "false", "text", "data", "count")


@lru_cache(maxsize=1)
def _elements_data() -> dict[str, dict[str, list[str]]]:
    """isSummary and mandatory top-level elements per type, from the R4 StructureDefinitions."""
    text = resources.files("app").joinpath("data/summary-elements.json").read_text("utf-8")
    data: dict[str, dict[str, list[str]]] = json.loads(text)
    return data


def _matches(key: str, names: list[str]) -> bool:
    """True when a JSON key is one of the element names (choice types as name[x])."""
    base = key[1:] if key.startswith("_") else key
    for name in names:
        if name == base:
            return True
        if name.endswith("[x]") and base.startswith(name[:-3]) and base[len(name) - 3 :][:1].isupper():
            return True
    return False


def _mark_subsetted(resource: dict[str, Any]) -> dict[str, Any]:
    """Add the SUBSETTED tag so nobody mistakes the result for the whole resource."""
    meta = dict(resource.get("meta") or {})
    tags = [t for t in meta.get("tag", []) if t.get("code") != "SUBSETTED"]
    meta["tag"] = [*tags, SUBSETTED]
    resource["meta"] = meta
    return resource


def _keep(resource: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Keep resourceType, id, meta and the named elements."""
    fixed = ("resourceType", "id", "meta")
    return {k: v for k, v in resource.items() if k in fixed or _matches(k, names)}


def apply_summary(resource: dict[str, Any], mode: str, res_type: str) -> dict[str, Any]:
    """Apply a _summary mode to one resource (count is handled by search)."""
    if mode not in SUMMARY_MODES:
        raise BadRequest(f"_summary must be one of {', '.join(SUMMARY_MODES)}.", expression="_summary")
    if mode == "false":
        return resource
    info = _elements_data().get(res_type, {"summary": [], "mandatory": []})
    if mode == "true":
        out = _keep(resource, info["summary"] + info["mandatory"])
    elif mode == "text":
        out = _keep(resource, ["text", *info["mandatory"]])
    else:  # data
        out = {k: v for k, v in resource.items() if k != "text"}
    return _mark_subsetted(out)


def apply_elements(resource: dict[str, Any], elements: list[str], res_type: str) -> dict[str, Any]:
    """Keep only the listed top-level elements, plus the mandatory ones."""
    names: list[str] = []
    for raw in elements:
        name = raw.strip()
        if "." in name:
            # R4 allows only top-level names in _elements; a Type.element form is accepted too.
            prefix, _, name = name.partition(".")
            if prefix != res_type:
                continue
        if name:
            names.append(name)
    info = _elements_data().get(res_type, {"summary": [], "mandatory": []})
    return _mark_subsetted(_keep(resource, names + info["mandatory"]))
