"""Factories for the validation tests: functions that build resources (bokmål content)."""

from __future__ import annotations

from typing import Any

from app.validation.identifiers import fnr_check_digits, orgnr_check_digit

B = "https://fellesplan.no/fhir"
SD = f"{B}/StructureDefinition/"
SEKSJON = f"{B}/CodeSystem/kriseplan-seksjon"
DOMENE = f"{B}/CodeSystem/ip-domene"
VOLVEN_9602 = "urn:oid:2.16.578.1.12.4.1.1.9602"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
SECTIONS = ("tidlige-tegn", "egenmestring", "kontakter", "tjenesteansvar", "parorende",
            "barn-og-dyr", "uonskede-tiltak")


def synthetic_fnr(day: int = 12, month: int = 5, year: int = 90) -> str:
    """A valid synthetic test-person FNR (month + 80) for the date."""
    for individ in range(1000):
        first9 = f"{day:02d}{month + 80:02d}{year:02d}{individ:03d}"
        k = fnr_check_digits(first9)
        if k:
            return f"{first9}{k[0]}{k[1]}"
    raise AssertionError("no valid number")


def orgnr(first8: str = "97000001") -> str:
    """A valid organisasjonsnummer starting near first8."""
    n = int(first8)
    while (k := orgnr_check_digit(f"{n:08d}")) is None:
        n += 1
    return f"{n:08d}{k}"


def patient(**extra: Any) -> dict[str, Any]:
    """A fellesplan-patient."""
    return {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": synthetic_fnr()}],
            "name": [{"family": "Nordmann", "given": ["Kari"]}], **extra}


def section(code: str, text: str = "Tekst.", performers: tuple[str, ...] = ()) -> dict[str, Any]:
    """One crisis-plan section as an activity."""
    detail: dict[str, Any] = {"code": {"coding": [{"system": SEKSJON, "code": code}]},
                              "status": "in-progress", "description": text}
    if performers:
        detail["performer"] = [{"reference": p} for p in performers]
    return {"detail": detail}


def kriseplan(**extra: Any) -> dict[str, Any]:
    """A complete, active Kriseplan (no meta.profile: the category makes it mandatory)."""
    who = {"kontakter": ("RelatedPerson/bror",), "tjenesteansvar": ("Organization/dps",)}
    return {
        "resourceType": "CarePlan",
        "extension": [{"url": SD + "revisjonsdato", "valueDate": "2027-05-01"}],
        "status": "active", "intent": "plan",
        "category": [{"coding": [{"system": VOLVEN_9602, "code": "A01-2"}]},
                     {"coding": [{"system": f"{B}/CodeSystem/plantype", "code": "kriseplan"}]}],
        "subject": {"reference": "Patient/kari"}, "period": {"start": "2026-11-01"},
        "author": {"reference": "Practitioner/lege"}, "contributor": [{"reference": "Patient/kari"}],
        "activity": [section(c, performers=who.get(c, ())) for c in SECTIONS],
        **extra,
    }


def tiltak(domain: str, performer: str, **detail: Any) -> dict[str, Any]:
    """One measure in an individual plan."""
    return {"detail": {"code": {"coding": [{"system": DOMENE, "code": domain}]}, "status": "scheduled",
                       "description": "Slik gjennomføres tiltaket.",
                       "scheduledPeriod": {"start": "2026-11-01", "end": "2027-05-01"},
                       "performer": [{"reference": performer}], **detail}}


def individuell_plan(**extra: Any) -> dict[str, Any]:
    """A complete, active Individuell plan."""
    return {
        "resourceType": "CarePlan",
        "extension": [
            {"url": SD + "koordinator", "valueReference": {"reference": "Practitioner/koordinator"}},
            {"url": SD + "revisjonsdato", "valueDate": "2027-05-01"},
            {"url": SD + "ip-ressurser", "valueMarkdown": "Godt nettverk."},
            {"url": SD + "ip-behov", "valueMarkdown": "Trenger bolig."}],
        "status": "active", "intent": "plan",
        "category": [{"coding": [{"system": VOLVEN_9602, "code": "A02-2"}]}],
        "subject": {"reference": "Patient/kari"},
        "period": {"start": "2026-11-01", "end": "2027-11-01"},
        "author": {"reference": "Practitioner/koordinator"},
        "contributor": [{"reference": "Patient/kari"}, {"reference": "Organization/nav"},
                        {"reference": "RelatedPerson/bror"}],
        "goal": [{"reference": "Goal/egen-bolig"}],
        "supportingInfo": [{"reference": "Consent/samtykke"}],
        "activity": [tiltak("bolig", "Organization/kommune"), tiltak("okonomi", "Patient/kari")],
        **extra,
    }
