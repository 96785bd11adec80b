"""The validator's contract with the rest of the server (docs/ARCHITECTURE.md, Validation).

validate_for_write runs inside every create/update; validate_resource serves $validate.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from app.fhir.errors import Issue, Unprocessable
from app.fhir.models import SERVED_TYPES
from app.validation.engine import Engine

MODES = ("create", "update", "delete")


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The process-wide engine, built on first use (warm_up() builds it at start)."""
    from app.config import get_settings

    settings = get_settings()
    eng = Engine(settings.validation_fnr_rule, settings.validation_mandatory_profiles_file,
                 settings.validation_profiles_dir)
    eng.warm_up(SERVED_TYPES)  # everything is compiled once, before the first write
    return eng


def warm_up() -> None:
    """Load definitions and compile every profile and served base type (call at start)."""
    engine()


def validate_for_write(resource_type: str, resource: dict[str, Any], *, enabled: bool = True) -> None:
    """Raise Unprocessable (422) with one issue per error; warnings never block a write."""
    if not enabled:  # FELLESPLAN_VALIDATION_ON_WRITE=false (benchmarks only; never in production)
        return
    eng = engine()
    urls, claim_issues = eng.profiles_for(resource, strict_claims=False)
    issues = claim_issues + eng.check(resource, urls)
    errors = [i for i in issues if i.severity in ("error", "fatal")]
    if errors:
        first = errors[0]
        raise Unprocessable(
            f"{resource_type} does not conform: {first.diagnostics}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            issues=errors,
        )


def validate_resource(
    resource: dict[str, Any], *, profile: str | None = None, mode: str | None = None
) -> list[Issue]:
    """All issues (errors, warnings) for $validate (https://hl7.org/fhir/R4/resource-operation-validate.html)."""
    rtype = str(resource.get("resourceType", ""))
    if mode == "delete":
        return []  # content is not checked for a delete; nothing here forbids one
    issues = _structure_issues(rtype, resource)
    if issues:
        return issues
    if mode == "update" and not resource.get("id"):
        issues.append(Issue("error", "required", "An update needs the resource id", (f"{rtype}.id",)))
    eng = engine()
    if profile:
        sd = eng.defs.structure(profile)
        if sd is None:
            return [*issues, Issue("error", "not-found", f"Unknown profile '{profile}'", ())]
        if sd.get("type") != rtype:
            return [*issues, Issue("error", "invalid", f"Profile '{profile}' is for "
                                   f"{sd.get('type')}, not {rtype}", ())]
        urls, claims = [profile.split("|", 1)[0]], list[Issue]()
    else:
        urls, claims = eng.profiles_for(resource, strict_claims=False)
    return issues + claims + eng.check(resource, urls)


def _structure_issues(rtype: str, resource: dict[str, Any]) -> list[Issue]:
    """The structural (400-class) problems, reported as issues rather than raised."""
    from app.fhir.errors import FhirError
    from app.fhir.parse import check_structure

    if rtype not in SERVED_TYPES:
        return [Issue("error", "not-supported", f"Resource type '{rtype[:64]}' is not served here",
                      ("resourceType",))]
    try:
        check_structure(rtype, copy.deepcopy(resource))
    except FhirError as exc:
        return list(exc.issues)
    except Exception as exc:  # the model library can fail outside its own error type
        return [Issue("error", "structure", f"The resource cannot be parsed as {rtype}: "
                      f"{type(exc).__name__}", (rtype,))]
    return []


def profile_questionnaires() -> list[dict[str, Any]]:
    """The Questionnaire resources in profiles/ (the lead upserts them by id at start)."""
    return [copy.deepcopy(q) for q in engine().defs.questionnaires]


def is_profile_resource(res_type: str, res_id: str) -> bool:
    """True for resources defined in profiles/ (read-only for clients; only the seed writes them)."""
    return res_type == "Questionnaire" and any(
        q.get("id") == res_id for q in engine().defs.questionnaires
    )
