"""HelseID claim names, and reading the trust framework's authorization_details."""

from __future__ import annotations

from typing import Any

from app.services.context import CareRelationship

PID = "helseid://claims/identity/pid"
SECURITY_LEVEL = "helseid://claims/identity/security_level"
HPR = "helseid://claims/hpr/hpr_number"
ORG_CHILD = "helseid://claims/client/claims/orgnr_child"
ORG_PARENT = "helseid://claims/client/claims/orgnr_parent"
TRUST_FRAMEWORK = "nhn:tillitsrammeverk:parameters"


def text(claims: dict[str, Any], name: str) -> str | None:
    """A claim as a non-empty string (HelseID sometimes sends single-item lists)."""
    value = claims.get(name)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def scopes(claims: dict[str, Any]) -> frozenset[str]:
    """The scope claim, space-separated string or list."""
    raw = claims.get("scope")
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list):
        return frozenset(s for s in raw if isinstance(s, str))
    return frozenset()


def care_relationship(claims: dict[str, Any]) -> CareRelationship | None:
    """Read nhn:tillitsrammeverk:parameters from authorization_details or its own claim."""
    details = _trust_details(claims)
    if details is None:
        return None
    care = details.get("care_relationship")
    care = care if isinstance(care, dict) else {}
    return CareRelationship(
        purpose_of_use=_code(care.get("purpose_of_use")),
        healthcare_service=_code(care.get("healthcare_service")),
        decision_ref=_code(care.get("decision_ref")),
        patients=_patients(details.get("patients")),
    )


def _trust_details(claims: dict[str, Any]) -> dict[str, Any] | None:
    """The trust framework object, wherever the token carries it."""
    own = claims.get(TRUST_FRAMEWORK)
    if isinstance(own, dict):
        return own
    details = claims.get("authorization_details")
    if isinstance(details, dict):
        details = [details]
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and item.get("type") == TRUST_FRAMEWORK:
                return item
    return None


def _code(value: Any, depth: int = 3) -> str | None:
    """A code given as a string, a Coding-like dict, or a dict with a nested 'code' (bounded)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict) and depth > 0:
        for key in ("code", "id", "ref_id", "value"):
            if isinstance(value.get(key), str):
                return str(value[key])
        for nested in value.values():
            found = _code(nested, depth - 1) if isinstance(nested, dict) else None
            if found:
                return found
    return None


def _patients(value: Any) -> tuple[str, ...]:
    """Patient identifiers named by the trust framework (pid or identifier value)."""
    items = value if isinstance(value, list) else [value] if value else []
    out: list[str] = []
    for item in items:
        code = _code(item)
        if code:
            out.append(code)
    return tuple(out)


def helseid_claims(
    *, pid: str | None, hpr: str | None, org: str | None, org_parent: str | None, name: str | None
) -> dict[str, Any]:
    """HelseID-shaped identity claims for development tokens."""
    out: dict[str, Any] = {}
    if pid:
        out[PID] = pid
        out[SECURITY_LEVEL] = "4"
    if hpr:
        out[HPR] = hpr
    if org:
        out[ORG_CHILD] = org
    if org_parent or org:
        out[ORG_PARENT] = org_parent or org
    if name:
        out["name"] = name
    return out


def trust_framework_details(
    purpose: str, org: str | None, org_parent: str | None
) -> dict[str, Any]:
    """A minimal nhn:tillitsrammeverk:parameters object carrying purpose_of_use."""
    return {
        "type": TRUST_FRAMEWORK,
        "practitioner": {
            "legal_entity": {"id": org_parent or org},
            "point_of_care": {"id": org},
        },
        "care_relationship": {
            "purpose_of_use": {
                "code": purpose,
                "system": "urn:oid:2.16.840.1.113883.1.11.20448",
            }
        },
    }
