"""The demo generator: deterministic, valid identifiers, and the shapes the profiles expect."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from app.demo import codes as C
from app.demo.bundles import chunked, patient_rounds, transaction
from app.demo.generator import DemoSet, patients_for
from app.demo.ids import orgnr, synthetic_fnr
from app.fhir.models import validate
from app.validation.identifiers import check_fnr, check_orgnr

SECTIONS = {
    "tidlige-tegn",
    "egenmestring",
    "kontakter",
    "tjenesteansvar",
    "parorende",
    "barn-og-dyr",
    "uonskede-tiltak",
}


@pytest.fixture(scope="module")
def data() -> DemoSet:
    return DemoSet(40, seed=1)


def _dump(d: DemoSet) -> bytes:
    everything = d.directory() + [{"r": p.resources, "v": p.revisions} for p in d.iter_patients()]
    return orjson.dumps(everything)


def test_same_seed_same_bytes(data: DemoSet) -> None:
    assert _dump(data) == _dump(DemoSet(40, seed=1))
    assert _dump(data) != _dump(DemoSet(40, seed=2))


def test_patient_is_independent_of_set_size() -> None:
    assert DemoSet(10).patient(3).resources == DemoSet(10).patient(3).resources


def test_fnr_valid_synthetic_and_unique() -> None:
    numbers = [synthetic_fnr(1, i)[0] for i in range(50_000)]
    assert len(set(numbers)) == len(numbers)
    assert all(check_fnr(n, "legacy") is None for n in numbers[:5000])
    assert all(int(n[2:4]) > 80 for n in numbers[:5000])  # synthetic test persons: month + 80


def test_orgnr_valid_and_unique() -> None:
    numbers = [orgnr(i) for i in range(5000)]
    assert len(set(numbers)) == len(numbers)
    assert all(check_orgnr(n) is None for n in numbers)


def test_every_resource_passes_the_model(data: DemoSet) -> None:
    for r in data.directory():
        validate(r["resourceType"], r)
    for p in data.iter_patients(0, 15):
        for r in p.resources + [x for rnd in p.revisions for x in rnd]:
            validate(r["resourceType"], r)


def test_directory_has_every_service_type(data: DemoSet) -> None:
    types = {
        o["type"][0]["coding"][0]["code"] for o in data.directory() if o["resourceType"] == "Organization"
    }
    assert types == {"kommune", "phv", "tsb", "fastlege", "nav", "legevakt"}


def _plans(p: object) -> dict[str, dict[str, object]]:
    out = {}
    for r in p.resources:  # type: ignore[attr-defined]
        if r["resourceType"] == "CarePlan":
            out[r["category"][0]["coding"][0]["code"]] = r
    return out


def test_crisis_plan_has_every_section_with_text(data: DemoSet) -> None:
    for p in data.iter_patients(0, 10):
        plan = _plans(p)[C.KRISEPLAN]
        details = [a["detail"] for a in plan["activity"]]  # type: ignore[attr-defined]
        assert {d["code"]["coding"][0]["code"] for d in details} >= SECTIONS
        assert all(len(d["description"]) > 40 and d["performer"] for d in details)


def test_individual_plan_measures_goals_and_versions(data: DemoSet) -> None:
    for p in data.iter_patients(0, 10):
        ip = _plans(p)[C.INDIVIDUELL_PLAN]
        assert 6 <= len(ip["activity"]) <= 10  # type: ignore[arg-type]
        goals = {r["id"] for r in p.resources if r["resourceType"] == "Goal"}
        assert {g["reference"].split("/")[1] for g in ip["goal"]} == goals  # type: ignore[attr-defined]
        versions = Counter(r["id"] for rnd in p.revisions for r in rnd)
        assert all(2 <= n <= 4 for n in versions.values()) and len(versions) == 2


def test_teams_consents_and_kin(data: DemoSet) -> None:
    pats = list(data.iter_patients())
    kinds = Counter(
        r["category"][0]["coding"][0]["code"]
        for p in pats
        for r in p.resources
        if r["resourceType"] == "CareTeam"
    )
    assert kinds["fact"] and kinds["ansvarsgruppe"]
    actors = Counter(
        r["provision"]["actor"][0]["reference"]["reference"].split("/")[0]
        for p in pats
        for r in p.resources
        if r["resourceType"] == "Consent"
    )
    assert actors["Organization"] and actors["RelatedPerson"] and actors["CareTeam"] == len(pats)
    assert any(r["resourceType"] == "QuestionnaireResponse" for r in pats[0].resources)


def test_transactions_carry_if_match_for_later_versions(data: DemoSet) -> None:
    rounds = patient_rounds(list(data.iter_patients(0, 3)))
    first = transaction(rounds[0])
    assert all("ifMatch" not in e["request"] for e in first["entry"])
    later = transaction(rounds[1])
    assert all(e["request"]["ifMatch"] == 'W/"1"' for e in later["entry"])
    assert sum(len(c) for c in chunked(rounds[0], 7)) == len(rounds[0])


def test_scale_estimate() -> None:
    n = patients_for(10_000)
    d = DemoSet(n)
    total = len(d.directory()) + sum(len(p.resources) for p in d.iter_patients(0, 200)) * n / 200
    assert 0.9 * 10_000 < total < 1.1 * 10_000


def test_every_resource_passes_the_profiles(data: DemoSet) -> None:
    from app.validation.hook import validate_for_write

    for r in data.directory():
        validate_for_write(r["resourceType"], dict(r))
    for p in data.iter_patients(0, 15):
        for r in p.resources + [x for rnd in p.revisions for x in rnd]:
            validate_for_write(r["resourceType"], dict(r))
