"""The instance walker: cardinality, types, fixed/pattern, slicing, bindings, invariants.

Rules follow https://hl7.org/fhir/R4/profiling.html and https://hl7.org/fhir/R4/validation.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.fhir.errors import Issue, Severity
from app.validation.elements import Node, TypeRef
from app.validation.invariants import InvariantSettings
from app.validation.patterns import matches_pattern, reference_type, values_at
from app.validation.registry import TreeRegistry

RESOURCE_TYPES = ("Resource", "DomainResource")


@dataclass(slots=True)
class Run:
    """State of one validation run."""

    root: dict[str, Any]
    source: str  # profile URL, named in messages
    settings: InvariantSettings
    issues: list[Issue]

    def add(self, severity: Severity, code: str, text: str, path: str) -> None:
        """Record one issue at a FHIRPath location."""
        self.issues.append(Issue(severity, code, text, (path,)))


class Validator:
    """Validates a resource against one compiled profile tree."""

    def __init__(self, trees: TreeRegistry, settings: InvariantSettings) -> None:
        self.trees = trees
        self.settings = settings

    def validate(self, resource: dict[str, Any], url: str) -> list[Issue]:
        """All issues of the resource against the profile (or base type) at url."""
        tree = self.trees.tree(url)
        run = Run(resource, url, self.settings, [])
        rtype = str(resource.get("resourceType"))
        self._element(tree, tree, resource, rtype, rtype, run)
        return run.issues

    def _element(self, node: Node, tree: Node, value: Any, tcode: str, path: str, run: Run) -> None:
        """One occurrence of an element: value rules, then children, then invariants."""
        if node.fixed is not None and value != node.fixed[1]:
            run.add("error", "value", f"Value must be exactly {_show(node.fixed[1])}", path)
        if node.pattern is not None and not matches_pattern(value, node.pattern[1]):
            run.add("error", "value", f"Value must match pattern {_show(node.pattern[1])}", path)
        if node.binding is not None:
            self.trees.check_binding(node.binding, value, tcode, path, run)
        if tcode == "Coding":
            self.trees.check_own_codes(value, tcode, path, run)
        if tcode == "Reference" and isinstance(value, dict):
            self._reference(node, value, path, run)
        if isinstance(value, dict):
            self._complex(node, tree, value, tcode, path, run)
        for constraint, compiled in node.invariants:
            self._invariant(constraint, compiled, value, path, run)

    def _complex(
        self, node: Node, tree: Node, value: dict[str, Any], tcode: str, path: str, run: Run
    ) -> None:
        """Walk the children from the profile, else from the data type's own definition."""
        if node.content_ref:
            target = self.trees.by_id(tree, node.content_ref.lstrip("#"))
            if target is not None:
                node = target
        tref = _type_ref(node, tcode)
        if tcode == "Extension" and tref and tref.profiles and not node.children:
            ext_tree = self.trees.extension_tree(tref.profiles[0])
            if ext_tree is None:
                run.add("warning", "not-found", f"Unknown extension profile {tref.profiles[0]}", path)
            else:
                self._element(ext_tree, ext_tree, value, tcode, path, run)
            return
        if tcode in RESOURCE_TYPES and "resourceType" in value:
            inner = self.trees.tree_for_type(str(value["resourceType"]))
            if inner is not None:
                self._element(inner, inner, value, str(value["resourceType"]), path, run)
            return
        walk = node if node.children else self.trees.type_tree(tcode)
        if walk is None:
            return
        if walk is not node:
            for constraint, compiled in walk.invariants:
                if all(constraint.key != c.key for c, _ in node.invariants):
                    self._invariant(constraint, compiled, value, path, run)
            tree = walk
        else:
            for constraint, compiled in self.trees.type_root_invariants(tcode, node):
                self._invariant(constraint, compiled, value, path, run)
        self._children(walk, tree, value, path, run)

    def _children(self, walk: Node, tree: Node, value: dict[str, Any], path: str, run: Run) -> None:
        """Each JSON key against its element; absent required elements; extensions."""
        seen: set[str] = set()
        for key in value:
            hit = walk.key_map.get(key)
            if hit is None and key != "resourceType":
                run.add("error", "structure", f"Element '{key.lstrip('_')}' is not allowed here "
                        f"by {run.source} (unknown name, or a type the profile excludes)",
                        f"{path}.{key.lstrip('_')}")
            elif hit is not None and hit[0].id not in seen:
                seen.add(hit[0].id)
                self._child(hit[0], tree, _listed(value, key.lstrip("_"), hit[1]), path, run)
        for child in walk.required:
            if child.id not in seen:
                self._child(child, tree, [], path, run)
        if "extension" in value or "modifierExtension" in value:
            self.trees.check_unknown_extensions(walk, value, path, run, self)

    def _child(
        self, child: Node, tree: Node, found: list[tuple[Any, str, str]], path: str, run: Run
    ) -> None:
        """All occurrences of one child element: cardinality, slicing, each value."""
        count = len(found)
        if count == 0 and child.min == 0 and not any(s.min for s in child.slices):
            return
        if count < child.min:
            run.add(
                "error", "required",
                f"{child.path}: minimum required = {child.min}, but only found {count}"
                f" (from {run.source})", f"{path}.{child.name}",
            )
        if child.max is not None and count > child.max:
            run.add(
                "error", "structure",
                f"{child.path}: max allowed = {child.max}, but found {count} (from {run.source})",
                f"{path}.{child.name}",
            )
        if child.slices:
            self._sliced(child, tree, found, path, run)
            return
        for value, tcode, loc in found:
            if value is not None:
                self._element(child, tree, value, tcode, f"{path}.{loc}", run)

    def _sliced(
        self, child: Node, tree: Node, found: list[tuple[Any, str, str]], path: str, run: Run
    ) -> None:
        """Assign occurrences to slices, check slice cardinality and closed slicing."""
        counts = dict.fromkeys((s.slice_name for s in child.slices), 0)
        index = self.trees.slice_index(child)
        for value, tcode, loc in found:
            if index is not None:
                match = _indexed_slice(child, index, value)
            else:
                match = next((s for s in child.slices if self._in_slice(child, s, value)), None)
            target = match or child
            if match is not None:
                counts[match.slice_name] += 1
            elif child.slicing_rules == "closed":
                run.add(
                    "error", "structure",
                    f"This element does not match any known slice defined in the profile "
                    f"{run.source} (slicing of {child.path} is closed)", f"{path}.{loc}",
                )
            if value is not None:
                self._element(target, tree, value, tcode, f"{path}.{loc}", run)
        for s in child.slices:
            n = counts[s.slice_name]
            where = f"{path}.{child.name}"
            if n < s.min:
                run.add("error", "required", f"Slice '{child.path}:{s.slice_name}': minimum "
                        f"required = {s.min}, but only found {n} (from {run.source})", where)
            if s.max is not None and n > s.max:
                run.add("error", "structure", f"Slice '{child.path}:{s.slice_name}': max "
                        f"allowed = {s.max}, but found {n} (from {run.source})", where)

    def _in_slice(self, child: Node, s: Node, value: Any) -> bool:
        """Does a value belong to slice s (value/pattern/type/exists discriminators)?"""
        for d in child.discriminators:
            if d.type == "exists":
                want = s.descendant(d.path)
                if bool(values_at(value, d.path)) != bool(want is not None and want.min > 0):
                    return False
                continue
            if d.type == "type":
                codes = {t.code for t in s.types}
                actual = value.get("resourceType") if isinstance(value, dict) else None
                if codes and actual is not None and actual not in codes:
                    return False
                continue
            expected = self.trees.slice_value(s, d.path)
            if expected is None:
                continue
            kind, want_value = expected
            actual_values = values_at(value, d.path)
            if kind == "fixed" and want_value not in actual_values:
                return False
            if kind == "pattern" and not any(matches_pattern(a, want_value) for a in actual_values):
                return False
        return True

    def _reference(self, node: Node, value: dict[str, Any], path: str, run: Run) -> None:
        """The referenced type must be one of the element's targetProfile types."""
        tref = _type_ref(node, "Reference")
        if tref is None or not tref.target_profiles:
            return
        ref = value.get("reference")
        rtype = reference_type(ref, run.root) if isinstance(ref, str) else value.get("type")
        if rtype is None:
            return
        allowed = self.trees.allowed_targets(tref.target_profiles)
        if "Resource" in allowed or rtype in allowed:
            return
        run.add(
            "error", "structure",
            f"Invalid Resource target type. Found {rtype}, but expected one of "
            f"({', '.join(sorted(a for a in allowed if a))})", f"{path}.reference",
        )

    def _invariant(self, constraint: Any, compiled: Any, value: Any, path: str, run: Run) -> None:
        """Evaluate one invariant and record its failure with its key."""
        detail = compiled.evaluate(value, run.root, run.settings)
        if detail is None:
            return
        if detail.startswith("__error__:"):
            run.add("warning", "processing", f"Could not evaluate {constraint.key}: "
                    f"{detail[10:]}", path)
            return
        severity: Severity = "error" if constraint.severity == "error" else "warning"
        text = f"Constraint failed: {constraint.key}: '{constraint.human}'"
        run.add(severity, "invariant", f"{text} ({detail})" if detail else text, path)


def _indexed_slice(child: Node, index: dict[tuple[Any, Any], int], value: Any) -> Node | None:
    """The first slice whose (system, code) the value carries at the discriminator path."""
    best: int | None = None
    for item in values_at(value, child.discriminators[0].path):
        codings = item.get("coding", []) if isinstance(item, dict) and "coding" in item else [item]
        for c in codings:
            if isinstance(c, dict):
                pos = index.get((c.get("system"), c.get("code")))
                if pos is not None and (best is None or pos < best):
                    best = pos
    return None if best is None else child.slices[best]


def _type_ref(node: Node, tcode: str) -> TypeRef | None:
    """The node's type entry for a type code."""
    for t in node.types:
        if t.code == tcode:
            return t
    return None


def _listed(obj: dict[str, Any], key: str, tcode: str) -> list[tuple[Any, str, str]]:
    """Occurrences of key, counting primitive extensions (_key) as present."""
    value, ext = obj.get(key), obj.get("_" + key)
    if isinstance(value, list) or isinstance(ext, list):
        items = value if isinstance(value, list) else []
        n = max(len(items), len(ext) if isinstance(ext, list) else 0)
        return [(items[i] if i < len(items) else None, tcode, f"{key}[{i}]") for i in range(n)]
    return [(value, tcode, key)]


def _show(value: Any) -> str:
    """A short rendering of a fixed or pattern value for messages."""
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."
