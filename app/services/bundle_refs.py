"""Rewrite links between the entries of a transaction (https://hl7.org/fhir/R4/http.html#trules).

The spec: "Servers SHALL replace all matching links in the bundle, whether they are found in the
resource ids, resource references, elements of type uri, url, oid, uuid, and <a href="" &
<img src="" in the narrative. Elements of type canonical are not replaced." Which element has
which type comes from the R4 StructureDefinitions in app/data, so an Identifier.value (a string)
that happens to hold a urn:uuid is left alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

_DEFINITIONS = Path(__file__).resolve().parent.parent / "data" / "r4" / "structure-definitions.json"
_URI_TYPES = frozenset({"uri", "url", "oid", "uuid"})
_NESTED = frozenset({"BackboneElement", "Element"})
# A conditional reference: Type?search (https://hl7.org/fhir/R4/http.html#trules).
CONDITIONAL_REF = re.compile(r"^([A-Z][A-Za-z]+)\?(.+)$")
_LINK_ATTR = re.compile(r"""(\b(?:href|src)\s*=\s*)(["'])([^"']*)\2""")

# Per type: element path below the type (e.g. "activity.detail.code") -> what it is:
# "@path" a nested backbone element, "#path" a contentReference, else the type code.
TypeTable = dict[str, dict[str, str]]


def is_placeholder(ref: str) -> bool:
    """True for urn:uuid: and urn:oid: references, which only mean something inside a Bundle."""
    return ref.startswith(("urn:uuid:", "urn:oid:"))


@lru_cache(maxsize=1)
def type_table() -> TypeTable:
    """Element types of every resource and complex type, choice elements expanded."""
    bundle = json.loads(_DEFINITIONS.read_bytes())
    table: TypeTable = {}
    for entry in bundle["entry"]:
        sd = entry["resource"]
        if sd.get("kind") in ("resource", "complex-type") and "snapshot" in sd:
            table[sd["type"]] = _elements(sd["type"], sd["snapshot"]["element"])
    return table


def _elements(type_name: str, elements: list[dict[str, Any]]) -> dict[str, str]:
    """The element table of one StructureDefinition snapshot."""
    out: dict[str, str] = {}
    prefix = type_name + "."
    for el in elements:
        path = str(el["path"])
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        if "contentReference" in el:
            out[rel] = "#" + str(el["contentReference"]).split(".", 1)[1]
            continue
        codes = [str(t["code"]) for t in el.get("type", [])]
        if rel.endswith("[x]"):
            stem = rel[:-3]
            for code in codes:
                out[stem + code[0].upper() + code[1:]] = code
        elif len(codes) == 1:
            out[rel] = "@" + rel if codes[0] in _NESTED else codes[0]
    return out


def may_link(resource: dict[str, Any]) -> bool:
    """False when the resource has nothing to rewrite: every link to map is a placeholder
    (urn:uuid:, urn:oid:) or a conditional reference (Type?search), so without "urn:" or "?"
    in its JSON the element walk can be skipped."""
    raw = orjson.dumps(resource, default=str)
    return b"urn:" in raw or b"?" in raw


@dataclass(slots=True)
class Unresolved:
    """A reference the rewrite could not map: a placeholder or a conditional reference."""

    expression: str
    reference: str


@dataclass(slots=True)
class LinkRewriter:
    """Replaces links found in `targets` (placeholder or conditional URL -> "Type/id")."""

    targets: dict[str, str]
    unresolved: list[Unresolved] = field(default_factory=list)

    def rewrite(self, resource: dict[str, Any]) -> list[Unresolved]:
        """Rewrite one resource in place; return the references left unresolved."""
        self.unresolved = []
        rtype = str(resource.get("resourceType", ""))
        self._object(resource, rtype, "", rtype)
        return self.unresolved

    def _object(self, node: dict[str, Any], tname: str, rel: str, path: str) -> None:
        """Walk the elements of one object of type `tname` at element path `rel`."""
        table = type_table().get(tname)
        if table is None:
            return
        for key, value in node.items():
            if key.startswith("_"):
                self._primitive_extensions(value, f"{path}.{key[1:]}")
                continue
            kind = table.get(rel + key)
            if kind is None:
                continue
            if tname == "Reference" and key == "reference" and isinstance(value, str):
                node[key] = self._reference(value, f"{path}.reference")
                continue
            self._value(node, key, kind, tname, f"{path}.{key}")

    def _value(self, node: dict[str, Any], key: str, kind: str, tname: str, path: str) -> None:
        """Handle one element's value, which may be a list."""
        value = node[key]
        if isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = self._item(item, kind, tname, f"{path}[{i}]")
        else:
            node[key] = self._item(value, kind, tname, path)

    def _item(self, item: Any, kind: str, tname: str, path: str) -> Any:
        """One value of an element; returns the (possibly replaced) value."""
        if isinstance(item, str):
            if kind in _URI_TYPES:
                return self.targets.get(item, item)
            if kind == "xhtml":
                return self._xhtml(item)
            return item
        if not isinstance(item, dict):
            return item
        if kind[0] in "@#":
            self._object(item, tname, kind[1:] + ".", path)
        elif kind == "Resource":
            self._object(item, str(item.get("resourceType", "")), "", path)
        else:
            self._object(item, kind, "", path)
        return item

    def _primitive_extensions(self, value: Any, path: str) -> None:
        """The `_element` companions of primitives carry extensions (with references, too)."""
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("extension"), list):
                where = f"{path}[{i}]" if isinstance(value, list) else path
                self._value(item, "extension", "Extension", "Element", f"{where}.extension")

    def _reference(self, ref: str, path: str) -> str:
        """A Reference.reference: mapped, or recorded as unresolved when it needs mapping."""
        base, sep, fragment = ref.partition("#")
        target = self.targets.get(base)
        if target is not None:
            return target + sep + fragment
        if is_placeholder(ref) or CONDITIONAL_REF.match(ref):
            self.unresolved.append(Unresolved(path, ref))
        return ref

    def _xhtml(self, div: str) -> str:
        """Replace <a href> and <img src> values that name a Bundle entry."""
        if "urn:" not in div:
            return div

        def swap(m: re.Match[str]) -> str:
            target = self.targets.get(m.group(3))
            return m.group(0) if target is None else f"{m.group(1)}{m.group(2)}{target}{m.group(2)}"

        return _LINK_ATTR.sub(swap, div)
