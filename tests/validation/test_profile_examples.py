"""Every example in profiles/examples/ gives exactly the errors its manifest entry names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.fhir.errors import Issue, Unprocessable
from app.validation.hook import validate_for_write, validate_resource

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text())["examples"]


def load(name: str) -> dict[str, Any]:
    """One example resource."""
    return json.loads((EXAMPLES / name).read_text())


def matches(expected: dict[str, str], issue: Issue) -> bool:
    """Does an issue satisfy one annotated error?"""
    if expected["expression"] not in issue.expression:
        return False
    if "key" in expected and f"Constraint failed: {expected['key']}:" not in issue.diagnostics:
        return False
    return "text" not in expected or expected["text"] in issue.diagnostics


def assert_exact(entry: dict[str, Any], errors: list[Issue]) -> None:
    """Every annotated error is found, and no other error is."""
    expected = entry.get("errors", [])
    for exp in expected:
        assert any(matches(exp, i) for i in errors), f"{entry['file']}: missing {exp} in {errors}"
    extra = [i for i in errors if not any(matches(exp, i) for exp in expected)]
    assert not extra, f"{entry['file']}: unexpected {extra}"


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_validate_operation_semantics(entry: dict[str, Any]) -> None:
    issues = validate_resource(load(entry["file"]), profile=entry["profile"])
    assert_exact(entry, [i for i in issues if i.severity == "error"])


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_write_hook(entry: dict[str, Any]) -> None:
    resource = load(entry["file"])
    if entry["valid"]:
        validate_for_write(resource["resourceType"], resource)
        return
    with pytest.raises(Unprocessable) as caught:
        validate_for_write(resource["resourceType"], resource)
    assert_exact(entry, caught.value.issues)


def test_manifest_covers_every_example_and_profile() -> None:
    files = {p.name for p in EXAMPLES.glob("*.json")} - {"manifest.json"}
    assert files == {e["file"] for e in MANIFEST}
    for profile in {e["profile"] for e in MANIFEST}:
        kinds = {e["valid"] for e in MANIFEST if e["profile"] == profile}
        assert kinds == {True, False}, f"{profile} needs valid and invalid examples"
