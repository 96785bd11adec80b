"""Crisis plans (kriseplan), individual plans (individuell plan) with Goals, and their revisions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson

from app.demo import codes as C
from app.demo.directory import Person
from app.demo.texts import (
    DOMAIN_TITLES,
    GOALS,
    MEASURES,
    NOTES,
    REVISIONS,
    SECTION_TITLES,
    SECTIONS,
    paragraph,
)

_STATUS_FLOW = ("not-started", "scheduled", "in-progress", "completed")


@dataclass(frozen=True, slots=True)
class Cast:
    """Who a patient's plans refer to."""

    patient: str
    patient_name: str
    care_team: str
    koordinator: Person
    staff: tuple[Person, ...]
    orgs: dict[str, str]
    kin: tuple[str, ...]
    start: date
    consent: str


def _extensions(cast: Cast, *, ip: bool) -> list[dict[str, Any]]:
    """The revision date, and for an individual plan the koordinator, resources and needs."""
    review = {"url": f"{C.SD}/revisjonsdato", "valueDate": (cast.start + timedelta(days=180)).isoformat()}
    if not ip:
        return [review]
    k = cast.koordinator
    return [
        {"url": f"{C.SD}/koordinator", "valueReference": C.ref("PractitionerRole", k.role, k.name)},
        review,
        {"url": f"{C.SD}/ip-ressurser", "valueMarkdown": "God kontakt med familien. Liker å gå tur."},
        {"url": f"{C.SD}/ip-behov", "valueMarkdown": "Trenger stabil bolig og hjelp med økonomi."},
    ]


def _section(rng: random.Random, code: str, cast: Cast) -> dict[str, Any]:
    """One crisis plan section as an activity."""
    text = paragraph(rng, SECTIONS[code], 2, 4)
    if code in ("tidlige-tegn", "egenmestring", "uonskede-tiltak"):
        performer = [C.ref("Patient", cast.patient)]
    elif code in ("parorende", "barn-og-dyr") and cast.kin:
        performer = [C.ref("RelatedPerson", k) for k in cast.kin]
    elif code == "kontakter":
        performer = [
            C.ref("CareTeam", cast.care_team),
            C.ref("Organization", cast.orgs["legevakt"]),
        ]
    else:
        staff = rng.sample(cast.staff, min(2, len(cast.staff)))
        performer = [C.ref("PractitionerRole", p.role, p.name) for p in staff]
    return {
        "detail": {
            "code": C.concept(C.SECTION, code, SECTION_TITLES[code]),
            "status": "in-progress",
            "description": text,
            "performer": performer,
        }
    }


def kriseplan(rng: random.Random, plan_id: str, cast: Cast) -> dict[str, Any]:
    """A crisis plan with every section (the violence-risk section for some patients)."""
    codes = [c for c in SECTIONS if c != "voldsrisiko"]
    if rng.random() < 0.2:
        codes.append("voldsrisiko")
    return {
        "resourceType": "CarePlan",
        "id": plan_id,
        "status": "active",
        "intent": "plan",
        "extension": _extensions(cast, ip=False),
        "category": C.plan_category(C.KRISEPLAN, "kriseplan"),
        "title": f"Kriseplan for {cast.patient_name}",
        "subject": C.ref("Patient", cast.patient, cast.patient_name),
        "period": {"start": cast.start.isoformat()},
        "created": cast.start.isoformat(),
        "author": C.ref("PractitionerRole", cast.koordinator.role, cast.koordinator.name),
        "contributor": [C.ref("Patient", cast.patient), C.ref("PractitionerRole", cast.koordinator.role)],
        "careTeam": [C.ref("CareTeam", cast.care_team)],
        "activity": [_section(rng, c, cast) for c in codes],
        "note": [{"text": rng.choice(NOTES)}],
    }


def goals(rng: random.Random, ids: list[str], cast: Cast) -> list[dict[str, Any]]:
    """The patient's own goals for the individual plan."""
    chosen = rng.sample(GOALS, len(ids))
    return [
        {
            "resourceType": "Goal",
            "id": gid,
            "lifecycleStatus": "active",
            "achievementStatus": C.concept(
                "http://terminology.hl7.org/CodeSystem/goal-achievement",
                rng.choice(("in-progress", "improving", "no-progress")),
            ),
            "description": {"text": text},
            "subject": C.ref("Patient", cast.patient),
            "startDate": cast.start.isoformat(),
            "target": [{"dueDate": (cast.start + timedelta(days=365)).isoformat()}],
            "expressedBy": C.ref("Patient", cast.patient),
        }
        for gid, text in zip(ids, chosen, strict=True)
    ]


def _measure(rng: random.Random, domain: str, text: str, cast: Cast, start: date) -> dict[str, Any]:
    """One measure of the individual plan, with the responsible service."""
    who = rng.choice(cast.staff)
    end = start + timedelta(days=rng.choice((90, 180, 365)))
    return {
        "detail": {
            "code": C.concept(C.IP_DOMAIN, domain, DOMAIN_TITLES[domain]),
            "status": rng.choice(_STATUS_FLOW[:3]),
            "description": text,
            "scheduledPeriod": {"start": start.isoformat(), "end": end.isoformat()},
            "performer": [C.ref("PractitionerRole", who.role, who.name)],
        }
    }


def individuell_plan(rng: random.Random, plan_id: str, goal_ids: list[str], cast: Cast) -> dict[str, Any]:
    """An individual plan with 6-10 measures, goals and the koordinator as contributor."""
    pool = [(d, m) for d, measures in MEASURES.items() for m in measures]
    measures = rng.sample(pool, rng.randint(6, 10))
    k = cast.koordinator
    return {
        "resourceType": "CarePlan",
        "id": plan_id,
        "status": "active",
        "intent": "plan",
        "extension": _extensions(cast, ip=True),
        "category": C.plan_category(C.INDIVIDUELL_PLAN, "individuell-plan"),
        "title": f"Individuell plan for {cast.patient_name}",
        "description": "Plan for samarbeid om tjenester, mål og tiltak (forskrift § 19).",
        "subject": C.ref("Patient", cast.patient, cast.patient_name),
        "period": {
            "start": cast.start.isoformat(),
            "end": (cast.start + timedelta(days=730)).isoformat(),
        },
        "created": cast.start.isoformat(),
        "author": C.ref("PractitionerRole", k.role, k.name),
        "contributor": [
            C.ref("PractitionerRole", k.role, f"{k.name} (koordinator)"),
            C.ref("Patient", cast.patient),
        ],
        "careTeam": [C.ref("CareTeam", cast.care_team)],
        "goal": [C.ref("Goal", g) for g in goal_ids],
        "supportingInfo": [C.ref("Consent", cast.consent, "Samtykke til plan og deling")],
        "activity": [_measure(rng, d, m, cast, cast.start) for d, m in measures],
        "note": [{"text": rng.choice(NOTES)}],
    }


def revise(rng: random.Random, plan: dict[str, Any], when: date) -> dict[str, Any]:
    """The next version of a plan: one activity changed and a dated revision note."""
    new: dict[str, Any] = orjson.loads(orjson.dumps(plan))  # a deep copy, 10x faster
    detail = rng.choice(new["activity"])["detail"]
    if detail["code"]["coding"][0]["system"] == C.IP_DOMAIN:
        step = _STATUS_FLOW.index(detail["status"]) + 1
        detail["status"] = _STATUS_FLOW[min(step, len(_STATUS_FLOW) - 1)]
    else:
        detail["description"] += f" {rng.choice(REVISIONS)}"
    new["note"] = [
        *new["note"],
        {
            "time": f"{when.isoformat()}T10:00:00+01:00",
            "text": f"{rng.choice(REVISIONS)} ({when.strftime('%d.%m.%Y')})",
        },
    ]
    return new
