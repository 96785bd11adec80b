"""Snapshot generation: apply a profile's differential to its base's snapshot.

Follows https://hl7.org/fhir/R4/profiling.html#snapshot: elements are matched by id, slices are
created from the sliced element, and a path into a data type expands that type's elements.
"""

from __future__ import annotations

import copy
from typing import Any

from app.validation.definitions import Definitions

_KEEP = ("id", "path")


class SnapshotError(Exception):
    """A differential that cannot be applied (a bug in a profile, caught at start)."""


def ensure_snapshot(defs: Definitions, url: str, _seen: frozenset[str] = frozenset()) -> None:
    """Generate the snapshot of the StructureDefinition at url (and of its bases) if missing."""
    sd = defs.structure(url)
    if sd is None:
        raise SnapshotError(f"unknown StructureDefinition {url}")
    if sd.get("snapshot", {}).get("element"):
        return
    if url in _seen:
        raise SnapshotError(f"circular baseDefinition at {url}")
    base_url = sd.get("baseDefinition", "")
    ensure_snapshot(defs, base_url, _seen | {url})
    base = defs.structure(base_url)
    assert base is not None
    sd["snapshot"] = {"element": generate(defs, base, sd)}


def generate(defs: Definitions, base: dict[str, Any], sd: dict[str, Any]) -> list[dict[str, Any]]:
    """The snapshot elements for sd's differential over base's snapshot."""
    elements: list[dict[str, Any]] = copy.deepcopy(base["snapshot"]["element"])
    for diff in sd.get("differential", {}).get("element", []):
        el_id = diff.get("id") or _id_from(diff)
        idx = _find_or_create(defs, elements, el_id)
        _merge(elements[idx], diff)
    return elements


def _id_from(diff: dict[str, Any]) -> str:
    """An element id for a differential element without one (path + sliceName)."""
    path = str(diff["path"])
    return f"{path}:{diff['sliceName']}" if diff.get("sliceName") else path


def _index(elements: list[dict[str, Any]], el_id: str) -> int | None:
    """The position of the element with this id."""
    for i, el in enumerate(elements):
        if el.get("id") == el_id:
            return i
    return None


def _split(el_id: str) -> tuple[str, str]:
    """Parent id and last segment of an element id (dots inside slice names are not split)."""
    depth, cut = 0, -1
    for i, ch in enumerate(el_id):
        if ch == "/":
            depth ^= 1
        elif ch == "." and not depth:
            cut = i
    return (el_id[:cut], el_id[cut + 1 :]) if cut >= 0 else ("", el_id)


def _subtree_end(elements: list[dict[str, Any]], idx: int) -> int:
    """The index after the last descendant (or slice) of elements[idx]."""
    root = elements[idx]["id"]
    end = idx + 1
    while end < len(elements):
        other = elements[end]["id"]
        if not (other.startswith(root + ".") or other.startswith(root + ":")):
            break
        end += 1
    return end


def _find_or_create(defs: Definitions, elements: list[dict[str, Any]], el_id: str) -> int:
    """The index of el_id, creating the slice or expanding the data type it needs."""
    found = _index(elements, el_id)
    if found is not None:
        return found
    parent_id, last = _split(el_id)
    if ":" in last:
        name, slice_name = last.split(":", 1)
        unsliced = f"{parent_id}.{name}" if parent_id else name
        return _create_slice(defs, elements, unsliced, slice_name)
    if not parent_id:
        raise SnapshotError(f"no element {el_id}")
    parent = _find_or_create(defs, elements, parent_id)
    _expand_type(defs, elements, parent)
    found = _index(elements, el_id)
    if found is None:
        raise SnapshotError(f"no element {el_id} in the base or its type")
    return found


def _create_slice(
    defs: Definitions, elements: list[dict[str, Any]], unsliced: str, slice_name: str
) -> int:
    """Copy the sliced element (and its own children) as a new slice after existing slices."""
    base_idx = _find_or_create(defs, elements, unsliced)
    end = _subtree_end(elements, base_idx)
    copies = []
    new_id = f"{unsliced}:{slice_name}"
    for el in elements[base_idx:end]:
        rest = el["id"][len(unsliced) :]
        if ":" in rest:  # other slices (and their children) are not part of this slice
            continue
        dup = copy.deepcopy(el)
        dup["id"] = new_id + rest
        dup.pop("slicing", None) if not rest else None
        if not rest:
            dup["sliceName"] = slice_name
        copies.append(dup)
    elements[end:end] = copies
    return end


def _expand_type(defs: Definitions, elements: list[dict[str, Any]], idx: int) -> None:
    """Insert the children of the element's data type (from the type's snapshot) after it."""
    el = elements[idx]
    types = el.get("type", [])
    codes = {t.get("code") for t in types}
    if len(codes) != 1:
        raise SnapshotError(f"cannot expand {el['id']}: needs exactly one type, has {codes}")
    type_sd = _type_structure(defs, types[0])
    if type_sd is None:
        raise SnapshotError(f"unknown type {codes} at {el['id']}")
    base_elements = type_sd["snapshot"]["element"]
    root_path = base_elements[0]["path"]
    children = []
    for child in base_elements[1:]:
        dup = copy.deepcopy(child)
        dup["id"] = el["id"] + child["id"][len(base_elements[0]["id"]) :]
        dup["path"] = el["path"] + child["path"][len(root_path) :]
        children.append(dup)
    end = _subtree_end(elements, idx)
    elements[end:end] = children


def _type_structure(defs: Definitions, type_ref: dict[str, Any]) -> dict[str, Any] | None:
    """The StructureDefinition of a type reference: its profile when given, else the base type."""
    for prof in type_ref.get("profile", []):
        sd = defs.structure(prof)
        if sd is not None:
            ensure_snapshot(defs, prof)
            return sd
    return defs.type_definition(str(type_ref.get("code")))


def _merge(target: dict[str, Any], diff: dict[str, Any]) -> None:
    """Apply one differential element: constraints accumulate, everything else replaces."""
    for key, value in diff.items():
        if key in _KEEP:
            continue
        if key == "constraint":
            have = {c.get("key") for c in target.get("constraint", [])}
            extra = [c for c in value if c.get("key") not in have]
            target["constraint"] = [*target.get("constraint", []), *copy.deepcopy(extra)]
        else:
            target[key] = copy.deepcopy(value)
