"""The default policy is data: a deployment changes behaviour by editing the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.consent.policy import DEFAULT_FILE, PolicyError, current, parse
from app.db.engine import Database
from tests.consent import harness as H
from tests.consent import world_fixed
from tests.consent.world import render, store


def variant(tmp_path: Path, change: dict[str, dict[str, object]]) -> str:
    """A copy of the shipped policy with some rules' settings changed."""
    data = json.loads(DEFAULT_FILE.read_bytes())
    for rule in data["rules"]:
        rule.update(change.get(rule["id"], {}))
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_the_shipped_policy_loads_and_names_its_legal_basis() -> None:
    policy = current()
    assert policy.rules[0].kind == "self"
    assert all(r.basis for r in policy.rules)
    with pytest.raises(PolicyError):
        parse({"id": "x"})


async def test_a_region_can_let_emergency_override_objections(
        fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    ctx = a["legevakt-nod"].context()
    plan = await H.read(fresh_db, ctx, "CarePlan", ids["kari-kp"])
    assert isinstance(plan, dict) and len(H.sections_of(plan)) == 8  # voldsrisiko objected
    monkeypatch.setenv("FELLESPLAN_CONSENT_POLICY_FILE",
                       variant(tmp_path, {"emergency": {"overridesObjection": True}}))
    plan = await H.read(fresh_db, a["legevakt-nod"].context(), "CarePlan", ids["kari-kp"])
    assert isinstance(plan, dict) and len(H.sections_of(plan)) == 9


async def test_a_region_can_narrow_what_a_care_relationship_shares(
        fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    assert isinstance(await H.read(fresh_db, a["team-lege"].context(), "Goal", ids["kari-goal"]),
                      dict)
    read = ["Patient", "CarePlan", "CareTeam", "Consent"]
    monkeypatch.setenv("FELLESPLAN_CONSENT_POLICY_FILE",
                       variant(tmp_path, {"care-relationship": {"read": read}}))
    assert await H.read(fresh_db, a["team-lege"].context(), "Goal", ids["kari-goal"]) == 404
    found = await H.search(fresh_db, a["team-lege"].context(), "Goal", [])
    assert found == (0, [])
