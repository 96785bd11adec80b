"""Snapshots compiled into element trees the validator walks (built once per profile)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRIMITIVES = frozenset(
    {
        "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id",
        "instant", "integer", "markdown", "oid", "positiveInt", "string", "time", "unsignedInt",
        "uri", "url", "uuid", "xhtml",
    }
)
SYSTEM_TYPE = "http://hl7.org/fhirpath/System."


@dataclass(frozen=True, slots=True)
class TypeRef:
    """One allowed type of an element."""

    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()

    @property
    def primitive(self) -> bool:
        """A FHIR primitive or a FHIRPath system type (id, url of Extension)."""
        return self.code in PRIMITIVES or self.code.startswith(SYSTEM_TYPE)


@dataclass(frozen=True, slots=True)
class Constraint:
    """One invariant on an element."""

    key: str
    severity: str
    human: str
    expression: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Discriminator:
    """A slicing discriminator (value, pattern, type, profile, exists)."""

    type: str
    path: str


@dataclass(slots=True)
class Node:
    """One element definition, with its children and slices."""

    id: str
    path: str
    name: str  # JSON key; for a choice element the prefix before [x]
    choice: bool
    min: int
    max: int | None  # None = *
    types: tuple[TypeRef, ...]
    fixed: tuple[str, Any] | None = None
    pattern: tuple[str, Any] | None = None
    binding: tuple[str, str] | None = None  # (strength, valueSet)
    constraints: tuple[Constraint, ...] = ()
    slice_name: str | None = None
    discriminators: tuple[Discriminator, ...] = ()
    slicing_rules: str = "open"
    children: list[Node] = field(default_factory=list)
    slices: list[Node] = field(default_factory=list)
    content_ref: str | None = None  # contentReference (#Questionnaire.item)
    invariants: list[Any] = field(default_factory=list)  # (Constraint, Compiled), filled once
    # JSON key (valueString, _birthDate, ...) -> (child, type code); filled once by index_keys.
    key_map: dict[str, tuple[Node, str]] = field(default_factory=dict)
    required: list[Node] = field(default_factory=list)  # children that must be looked at

    def index_keys(self) -> None:
        """Precompute which child each JSON key belongs to."""
        for c in self.children:
            if c.choice:
                for t in c.types:
                    key = c.name + t.code[0].upper() + t.code[1:]
                    self.key_map[key] = self.key_map["_" + key] = (c, t.code)
            else:
                code = c.types[0].code if c.types else "BackboneElement"
                self.key_map[c.name] = self.key_map["_" + c.name] = (c, code)
            if c.min > 0 or any(s.min > 0 for s in c.slices):
                self.required.append(c)

    def child(self, name: str) -> Node | None:
        """The unsliced child with this JSON name (choice prefix for [x])."""
        for c in self.children:
            if c.name == name:
                return c
        return None

    def descendant(self, dotted: str) -> Node | None:
        """A descendant by a dotted path of JSON names."""
        node: Node | None = self
        for part in dotted.split("."):
            node = node.child(part) if node else None
        return node


def compile_snapshot(elements: list[dict[str, Any]]) -> Node:
    """Build the tree from snapshot elements (ids decide parent and slice membership)."""
    by_id: dict[str, Node] = {}
    root: Node | None = None
    for el in elements:
        node = _node(el)
        by_id[node.id] = node
        parent_id, last = _parent(node.id)
        if not parent_id and ":" not in last:
            root = node
            continue
        if node.slice_name and ":" in last:
            base_name = last.rsplit(":", 1)[0]
            unsliced = by_id.get(f"{parent_id}.{base_name}" if parent_id else base_name)
            if unsliced is not None:
                unsliced.slices.append(node)
                continue
        parent = by_id.get(parent_id)
        if parent is not None:
            parent.children.append(node)
    assert root is not None, "snapshot without a root element"
    return root


def _parent(el_id: str) -> tuple[str, str]:
    """Parent id and last segment."""
    cut = el_id.rfind(".")
    while cut > 0 and "/" in el_id[cut:] and el_id.count("/", 0, cut) % 2:
        cut = el_id.rfind(".", 0, cut)
    return (el_id[:cut], el_id[cut + 1 :]) if cut > 0 else ("", el_id)


def _node(el: dict[str, Any]) -> Node:
    """One Node from an ElementDefinition."""
    path = str(el["path"])
    last = path.rsplit(".", 1)[-1]
    choice = last.endswith("[x]")
    slicing = el.get("slicing") or {}
    return Node(
        id=str(el.get("id") or path),
        path=path,
        name=last[:-3] if choice else last,
        choice=choice,
        min=int(el.get("min", 0)),
        max=None if el.get("max", "*") == "*" else int(el["max"]),
        types=tuple(
            TypeRef(
                _type_code(t),
                tuple(t.get("profile", [])),
                tuple(t.get("targetProfile", [])),
            )
            for t in el.get("type", [])
        ),
        fixed=_prefixed(el, "fixed"),
        pattern=_prefixed(el, "pattern"),
        binding=_binding(el),
        constraints=tuple(
            Constraint(c["key"], c.get("severity", "error"), c.get("human", ""),
                       c["expression"], c.get("source", ""))
            for c in el.get("constraint", []) if c.get("expression")
        ),
        slice_name=el.get("sliceName"),
        discriminators=tuple(
            Discriminator(d["type"], d["path"]) for d in slicing.get("discriminator", [])
        ),
        slicing_rules=slicing.get("rules", "open"),
        content_ref=el.get("contentReference"),
    )


def _type_code(t: dict[str, Any]) -> str:
    """The type code; System.String on id/url elements maps back to the FHIR type name."""
    for ext in t.get("extension", []):
        if ext.get("url", "").endswith("structuredefinition-fhir-type"):
            return str(ext.get("valueUrl") or ext.get("valueUri"))
    return str(t["code"])


def _prefixed(el: dict[str, Any], prefix: str) -> tuple[str, Any] | None:
    """The (type suffix, value) of a fixed[x] or pattern[x]."""
    for key, value in el.items():
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
            return key[len(prefix) :], value
    return None


def _binding(el: dict[str, Any]) -> tuple[str, str] | None:
    """(strength, valueSet) when the element is bound to a ValueSet."""
    b = el.get("binding")
    if b and b.get("valueSet"):
        return str(b["strength"]), str(b["valueSet"]).split("|", 1)[0]
    return None
