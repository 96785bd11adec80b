"""Code systems and coding helpers used by the demo data (the profiles' codes, docs/profiles.md)."""

from __future__ import annotations

from typing import Any

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
KOMMUNENR = "urn:oid:2.16.578.1.12.4.1.1.3402"
VOLVEN_9602 = "urn:oid:2.16.578.1.12.4.1.1.9602"
VOLVEN_9033 = "urn:oid:2.16.578.1.12.4.1.1.9033"
VOLVEN_9060 = "urn:oid:2.16.578.1.12.4.1.1.9060"
FP = "https://fellesplan.no/fhir"
PLANTYPE = f"{FP}/CodeSystem/plantype"
SECTION = f"{FP}/CodeSystem/kriseplan-seksjon"
IP_DOMAIN = f"{FP}/CodeSystem/ip-domene"
SERVICE_TYPE = f"{FP}/CodeSystem/tjenestetype"
TEAM_TYPE = f"{FP}/CodeSystem/team-type"
TEAM_ROLE = f"{FP}/CodeSystem/team-rolle"
SD = f"{FP}/StructureDefinition"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
QUESTIONNAIRE_EVAL = f"{FP}/Questionnaire/kriseplan-evaluering"
QUESTIONNAIRE_USER = f"{FP}/Questionnaire/brukermedvirkning"

KRISEPLAN = "A01-2"
INDIVIDUELL_PLAN = "A02-2"
TEAM_DISPLAY = {
    "act": "ACT-team",
    "fact": "FACT-team",
    "fact-ung": "FACT ung",
    "ansvarsgruppe": "Ansvarsgruppe",
    "oppfolgingsteam": "Oppfølgingsteam",
}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding."""
    out: dict[str, Any] = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    return {"coding": [coding(system, code, display)]}


def ref(res_type: str, res_id: str, display: str | None = None) -> dict[str, Any]:
    """A literal Reference."""
    out: dict[str, Any] = {"reference": f"{res_type}/{res_id}"}
    if display:
        out["display"] = display
    return out


def plan_category(volven: str, plantype: str) -> list[dict[str, Any]]:
    """CarePlan.category: the Volven 9602 document type and Fellesplan's own plan type."""
    names = {KRISEPLAN: "Kriseplan", INDIVIDUELL_PLAN: "Individuell plan"}
    return [concept(VOLVEN_9602, volven, names[volven]), concept(PLANTYPE, plantype)]
