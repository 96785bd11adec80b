"""The validator never crashes: mutated resources give issues, not exceptions (a 500 is a bug)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.validation.hook import validate_resource

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [json.loads(p.read_text()) for p in sorted((ROOT / "profiles" / "examples").glob("*-*.json"))]
SOURCES += [json.loads(p.read_text()) for p in sorted((ROOT / "tests" / "data" / "examples").glob("*.json"))
            if p.name.startswith(("CarePlan", "Consent", "Questionnaire-bb", "CareTeam", "Patient-ex"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location inside a JSON value."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(resource: dict[str, Any], path: tuple[Any, ...], how: int) -> dict[str, Any]:
    """Delete, duplicate, empty or retype the value at path."""
    out = copy.deepcopy(resource)
    if not path or path == ("resourceType",):
        return out
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == 0:
        del parent[last]
    elif how == 1 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif how == 2:
        parent[last] = {} if isinstance(parent[last], dict) else parent[last]
    else:
        parent[last] = "x" if isinstance(parent[last], str) else parent[last]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutations_never_raise(data: st.DataObject) -> None:
    resource = data.draw(st.sampled_from(SOURCES))
    path = data.draw(st.sampled_from(_paths(resource)))
    mutated = _mutate(resource, path, data.draw(st.integers(0, 3)))
    for issue in validate_resource(mutated):
        assert issue.severity in ("error", "warning", "information", "fatal")
