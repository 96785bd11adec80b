"""The compiled FHIRPath subset gives the same verdicts as fhirpathpy, everywhere we use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhirpathpy.parser import parse

from app.validation import invariants
from app.validation.fastpath import Unsupported, compile_ast
from app.validation.hook import engine
from app.validation.invariants import fhirpath_evaluate

ROOT = Path(__file__).resolve().parents[2]
BASE_EXAMPLES = sorted((ROOT / "tests" / "data" / "examples").glob("*.json"))
OUR_EXAMPLES = sorted((ROOT / "profiles" / "examples").glob("*-*.json"))


def _issues(resource: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    eng = engine()
    urls, _ = eng.profiles_for(resource, strict_claims=False)
    return [(i.severity, i.diagnostics, i.expression) for i in eng.check(resource, urls)]


@pytest.fixture
def slow_path() -> Iterator[None]:
    """Evaluate every invariant with fhirpathpy only."""
    invariants.FASTPATH["enabled"] = False
    yield
    invariants.FASTPATH["enabled"] = True


@pytest.mark.parametrize("path", BASE_EXAMPLES + OUR_EXAMPLES, ids=lambda p: p.name)
def test_same_issues_with_and_without_the_compiled_subset(path: Path, slow_path: None) -> None:
    resource = json.loads(path.read_text())
    if path.name == "Questionnaire-qs1.json":
        pytest.skip("structurally invalid (missing linkId); never reaches the validator")
    slow = _issues(resource)
    invariants.FASTPATH["enabled"] = True
    assert _issues(resource) == slow


@pytest.mark.parametrize(("expression", "resource"), [
    ("name.given.count() > 1", {"resourceType": "Patient", "name": [{"given": ["a", "b"]}]}),
    ("(1 | 2 | 2).count() = 2", {"resourceType": "Patient"}),
    ("active.not()", {"resourceType": "Patient", "active": False}),
    ("active.not()", {"resourceType": "Patient"}),
    ("gender = 'male' implies birthDate.exists()", {"resourceType": "Patient", "gender": "male"}),
    ("birthDate < '2000-01-01'", {"resourceType": "Patient", "birthDate": "1999-12"}),
    ("birthDate >= '1999-12-31'", {"resourceType": "Patient", "birthDate": "1999-12-31"}),
    ("deceased.exists() xor true", {"resourceType": "Patient", "deceasedBoolean": True}),
    ("name.where(family.startsWith('Nord')).exists()", {"resourceType": "Patient",
                                                        "name": [{"family": "Nordmann"}]}),
    ("iif(active, 'a', 'b') = 'b'", {"resourceType": "Patient", "active": False}),
    ("(7 mod 3) + (7 div 2) * 2 - 1 = 6", {"resourceType": "Patient"}),
    ("'x' in ('x' | 'y') and ('a' | 'b') contains 'b'", {"resourceType": "Patient"}),
    ("id.matches('^[0-9]+$')", {"resourceType": "Patient", "id": "123"}),
    ("id.substring(1, 2) = '23'", {"resourceType": "Patient", "id": "1234"}),
])
def test_expressions_agree(expression: str, resource: dict[str, Any]) -> None:
    fast = compile_ast(parse(expression))([resource], {"resource": resource})
    assert fast == fhirpath_evaluate(expression, resource)


@pytest.mark.parametrize("expression", [
    "descendants().linkId.isDistinct()", "answer is Boolean", "member.resolve().exists()",
])
def test_outside_the_subset_is_refused_at_compile_time(expression: str) -> None:
    with pytest.raises(Unsupported):
        compile_ast(parse(expression))
