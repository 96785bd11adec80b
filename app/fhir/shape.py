"""JSON shape of primitives and arrays, which the models coerce instead of rejecting.

FHIR JSON requires true/false for booleans, JSON numbers for integers and decimals, strings for
everything else, and arrays exactly where max is * (https://hl7.org/fhir/R4/json.html).
The table comes from the R4 StructureDefinitions (scripts/gen_element_shapes.py).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from app.fhir.errors import Issue

Shapes = dict[str, dict[str, tuple[bool, str]]]
_NUMBER = (int, float, Decimal)


@lru_cache(maxsize=1)
def _shapes() -> Shapes:
    """Element name -> (is array, kind) per type or backbone path."""
    text = resources.files("app").joinpath("data/element-shapes.json").read_text("utf-8")
    raw: dict[str, dict[str, list[Any]]] = json.loads(text)
    return {k: {n: (bool(v[0]), str(v[1])) for n, v in d.items()} for k, d in raw.items()}


def check_shape(rtype: str, data: dict[str, Any], limit: int = 50) -> list[Issue]:
    """Issues for primitives of the wrong JSON kind and for arrays where single values belong."""
    issues: list[Issue] = []
    stack: list[tuple[str, dict[str, Any], str]] = [(rtype, data, rtype)]
    shapes = _shapes()
    while stack and len(issues) < limit:
        struct, node, path = stack.pop()
        table = shapes.get(struct)
        if table is None:
            continue
        for key, value in node.items():
            spec = table.get(key)
            if spec is not None:
                _check(spec, value, f"{path}.{key}", stack, issues)
    return issues


def _check(spec: tuple[bool, str], value: Any, path: str,
           stack: list[tuple[str, dict[str, Any], str]], issues: list[Issue]) -> None:
    """Check one element (each item, for arrays)."""
    many, kind = spec
    if many != isinstance(value, list):
        want = "an array" if many else "a single value, not an array"
        issues.append(Issue("error", "structure", f"{path} must be {want}.", (path,)))
        return
    items = value if many else [value]
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if many else path
        if kind.startswith("P:"):
            if not _primitive_ok(kind[2:], item):
                issues.append(Issue("error", "structure",
                                    f"{where} must be a JSON {_KIND_TEXT[kind[2:]]}.", (where,)))
        elif isinstance(item, dict):
            struct = item.get("resourceType", "") if kind == "R" else kind[2:]
            stack.append((struct, item, where))


_KIND_TEXT = {"boolean": "boolean (true or false)", "integer": "integer number",
              "decimal": "number", "string": "string"}


def _primitive_ok(kind: str, value: Any) -> bool:
    """True when the JSON value has the kind FHIR requires."""
    if value is None:
        return True  # null inside primitive arrays pairs with _element extensions; models decide
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "decimal":
        return isinstance(value, _NUMBER) and not isinstance(value, bool)
    return isinstance(value, str)
