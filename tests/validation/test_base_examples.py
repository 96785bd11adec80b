"""The official R4 examples of served types: valid ones pass, invalid ones fail on the right key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.fhir.models import SERVED
from app.validation.hook import engine, validate_for_write, validate_resource

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = sorted(
    p for p in (DATA / "examples").glob("*.json")
    if json.loads(p.read_text("utf-8"))["resourceType"] in SERVED
)
INVALID_BASE: dict[str, list[str]] = json.loads((DATA / "invalid-base-examples.json").read_text())
# The lead's list of examples the server refuses; status 400 = not valid R4 structure.
REJECTED = json.loads((DATA / "rejected-examples.json").read_text())
INVALID_STRUCTURE = {k for k, v in REJECTED.items() if v["status"] == 400}
KEY = re.compile(r"Constraint failed: ([\w-]+):")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_base_example(path: Path) -> None:
    resource = json.loads(path.read_text("utf-8"))
    if path.name in INVALID_STRUCTURE:
        issues = validate_resource(resource)
        assert any(i.code == "structure" for i in issues)
        return
    errors = [i for i in engine().check(resource, []) if i.severity == "error"]
    keys = {m.group(1) for i in errors if (m := KEY.search(i.diagnostics))}
    assert keys == set(INVALID_BASE.get(path.name, [])), errors
    assert len(keys) == len(errors), "every base error of an example is an invariant"
    if not errors:
        validate_for_write(resource["resourceType"], resource)  # no mandatory profile trips


def test_invalid_list_names_existing_examples() -> None:
    names = {p.name for p in EXAMPLES}
    assert set(INVALID_BASE) <= names
