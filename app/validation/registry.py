"""Compiled profile trees, type trees and terminology checks, built once and shared."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from app.validation.definitions import CANONICAL_BASE, FHIR_SD, Definitions
from app.validation.elements import Node, compile_snapshot
from app.validation.invariants import compile_invariant
from app.validation.snapshot import ensure_snapshot
from app.validation.terminology import Terminology

if TYPE_CHECKING:
    from app.validation.validator import Run, Validator


class UnknownProfile(Exception):
    """A profile URL the server does not hold."""


class TreeRegistry:
    """Everything the walker looks up, by URL or type code, compiled lazily then cached."""

    def __init__(self, defs: Definitions) -> None:
        self.defs = defs
        self.tx = Terminology(defs)
        self._trees: dict[str, Node] = {}
        self._ids: dict[int, dict[str, Node]] = {}
        self._slice_index: dict[int, dict[tuple[Any, Any], int] | None] = {}
        self._own_systems = {
            url for url in defs.code_systems
            if url.startswith(CANONICAL_BASE) or url.startswith("http://hl7.no/")
        }

    def tree(self, url: str) -> Node:
        """The compiled tree of a StructureDefinition (snapshot generated if needed)."""
        url = url.split("|", 1)[0]
        if url not in self._trees:
            if self.defs.structure(url) is None:
                raise UnknownProfile(url)
            ensure_snapshot(self.defs, url)
            sd = self.defs.structure(url)
            assert sd is not None
            root = compile_snapshot(sd["snapshot"]["element"])
            index: dict[str, Node] = {}
            self._prepare(root, index)
            self._ids[id(root)] = index
            self._trees[url] = root
        return self._trees[url]

    def _prepare(self, node: Node, index: dict[str, Node]) -> None:
        """Compile every invariant of the tree and index nodes by id."""
        index[node.id] = node
        base = node.path.replace("[x]", "")
        # ele-1 cannot fail on a JSON primitive (the structural parse rejects empty strings).
        primitive = bool(node.types) and all(t.primitive for t in node.types)
        node.invariants = [
            (c, compile_invariant(c.key, c.expression, base))
            for c in node.constraints if not (primitive and c.key == "ele-1")
        ]
        node.index_keys()
        for child in (*node.children, *node.slices):
            self._prepare(child, index)

    def by_id(self, tree: Node, el_id: str) -> Node | None:
        """A node of a tree by element id (for contentReference)."""
        return self._ids.get(id(tree), {}).get(el_id)

    def tree_for_type(self, type_code: str) -> Node | None:
        """The base tree of a resource or data type, or None if not held."""
        try:
            return self.tree(FHIR_SD + type_code)
        except UnknownProfile:
            return None

    def type_tree(self, type_code: str) -> Node | None:
        """The tree to walk for a complex data type's children."""
        if type_code.startswith("http://") or type_code in ("BackboneElement", "Element"):
            return None
        return self.tree_for_type(type_code)

    def type_root_invariants(self, type_code: str, node: Node) -> list[Any]:
        """The data type's own root invariants (e.g. per-1) not already on the node."""
        tree = self.type_tree(type_code)
        if tree is None:
            return []
        have = {c.key for c, _ in node.invariants}
        return [(c, comp) for c, comp in tree.invariants if c.key not in have]

    def extension_tree(self, url: str) -> Node | None:
        """The tree of an extension definition, or None."""
        try:
            return self.tree(url)
        except UnknownProfile:
            return None

    @lru_cache(maxsize=1024)  # noqa: B019 - the registry lives as long as the process
    def allowed_targets(self, target_profiles: tuple[str, ...]) -> frozenset[str]:
        """The resource types a reference's targetProfiles allow."""
        return frozenset(self.profile_type(tp) for tp in target_profiles)

    def profile_type(self, url: str) -> str:
        """The resource type a profile constrains (base type URLs map to their name)."""
        sd = self.defs.structure(url)
        if sd is not None:
            return str(sd.get("type"))
        return url.rsplit("/", 1)[-1] if url.startswith(FHIR_SD) else ""

    def slice_value(self, s: Node, path: str) -> tuple[str, Any] | None:
        """What a slice fixes at a discriminator path: ("fixed"|"pattern", value)."""
        target = s if path in ("$this", "") else s.descendant(path)
        if target is None and path == "url" and s.types and s.types[0].profiles:
            return "fixed", s.types[0].profiles[0]
        if target is None:
            return None
        if target.fixed is not None:
            return "fixed", target.fixed[1]
        if target.pattern is not None:
            return "pattern", target.pattern[1]
        if path == "url" and s.types and s.types[0].profiles:
            return "fixed", s.types[0].profiles[0]
        return None

    def slice_index(self, child: Node) -> dict[tuple[Any, Any], int] | None:
        """(system, code) -> slice position, when every slice is told apart by one coding."""
        key = id(child)
        if key not in self._slice_index:
            self._slice_index[key] = self._build_slice_index(child)
        return self._slice_index[key]

    def _build_slice_index(self, child: Node) -> dict[tuple[Any, Any], int] | None:
        """The index, or None when some slice's discriminator is not a single coding."""
        if len(child.discriminators) != 1 or child.discriminators[0].type not in ("value", "pattern"):
            return None
        index: dict[tuple[Any, Any], int] = {}
        for pos, s in enumerate(child.slices):
            found = self.slice_value(s, child.discriminators[0].path)
            coding = _single_coding(found[1]) if found else None
            if coding is None:
                return None
            index.setdefault(coding, pos)
        return index

    def check_binding(
        self, binding: tuple[str, str], value: Any, tcode: str, path: str, run: Run
    ) -> None:
        """Required bindings give errors, extensible ones warnings (validation.html#binding)."""
        strength, vs = binding
        if strength not in ("required", "extensible"):
            return
        codes = _codes(value, tcode)
        if codes is None:
            return
        if not codes:
            if strength == "required" and tcode == "CodeableConcept":
                run.add("error", "code-invalid", f"No code provided, and a code must be "
                        f"provided from the value set {vs}", path)
            return
        results = [self.tx.check(vs, system, code) for system, code in codes]
        if "ok" in results or "bad" not in results:
            return
        shown = ", ".join(f"{s}#{c}" if s else c for s, c in codes)
        if strength == "required":
            run.add("error", "code-invalid", f"The value provided ({shown}) is not in the "
                    f"value set {vs}, and a code is required from this value set", path)
        else:
            run.add("warning", "code-invalid", f"None of the codes provided ({shown}) are in the "
                    f"value set {vs}, and a code should come from this value set", path)

    def check_own_codes(self, value: Any, tcode: str, path: str, run: Run) -> None:
        """A code in one of our (or no-basis) CodeSystems must exist there."""
        for system, code in _codes(value, tcode) or []:
            if system in self._own_systems:
                known = self.tx.code_system_codes(system)
                if known is not None and code not in known:
                    run.add("error", "code-invalid",
                            f"Unknown code '{code}' in the CodeSystem '{system}'", path)

    def _check_context(self, url: str, path: str, where: str, run: Run) -> None:
        """Our extensions may only sit where their context says (resource-level contexts)."""
        sd = self.defs.structure(url)
        if sd is None or not url.startswith(CANONICAL_BASE):
            return
        allowed = {c.get("expression") for c in sd.get("context", []) if c.get("type") == "element"}
        if allowed and _element_path(path) not in allowed:
            run.add("error", "structure", f"The extension {url} is not allowed at "
                    f"{_element_path(path)} (context: {', '.join(sorted(map(str, allowed)))})", where)

    def check_unknown_extensions(
        self, walk: Node, value: dict[str, Any], path: str, run: Run, v: Validator
    ) -> None:
        """Extensions not covered by a slice: validate when we hold them; ours must exist."""
        node = walk.child("extension")
        sliced = {p for s in (node.slices if node else []) for t in s.types for p in t.profiles}
        for i, ext in enumerate(value.get("extension", [])):
            url = ext.get("url") if isinstance(ext, dict) else None
            if not isinstance(url, str) or url in sliced:
                continue
            where = f"{path}.extension[{i}]"
            tree = self.extension_tree(url)
            if tree is not None:
                self._check_context(url, path, where, run)
                v._element(tree, tree, ext, "Extension", where, run)
            elif url.startswith(CANONICAL_BASE):
                run.add("error", "structure", f"Unknown Fellesplan extension {url}", where)
        for i, ext in enumerate(value.get("modifierExtension", [])):
            url = ext.get("url") if isinstance(ext, dict) else None
            if isinstance(url, str) and self.extension_tree(url) is None:
                # A modifier changes the meaning of its element: one we cannot read is refused
                # (https://hl7.org/fhir/R4/extensibility.html#modifierExtension).
                run.add("error", "not-supported", f"Unknown modifier extension {url}",
                        f"{path}.modifierExtension[{i}]")


def _element_path(path: str) -> str:
    """A FHIRPath location without indices (CarePlan.activity[2] -> CarePlan.activity)."""
    return re.sub(r"\[\d+\]", "", path)


def _single_coding(pattern: Any) -> tuple[Any, Any] | None:
    """(system, code) when a pattern is exactly one coding of system+code (CodeableConcept or Coding)."""
    if isinstance(pattern, dict) and set(pattern) == {"coding"} and len(pattern["coding"]) == 1:
        pattern = pattern["coding"][0]
    if isinstance(pattern, dict) and set(pattern) == {"system", "code"}:
        return pattern["system"], pattern["code"]
    return None


def _codes(value: Any, tcode: str) -> list[tuple[str | None, str]] | None:
    """(system, code) pairs of a coded value; None when the type carries no code."""
    if tcode in ("code", "string", "uri") and isinstance(value, str):
        return [(None, value)]
    if not isinstance(value, dict):
        return None
    if tcode == "Coding" or tcode == "Quantity":
        code = value.get("code")
        return [(value.get("system"), code)] if isinstance(code, str) else []
    if tcode == "CodeableConcept":
        return [
            (c.get("system"), c["code"])
            for c in value.get("coding", []) if isinstance(c.get("code"), str)
        ]
    return None
