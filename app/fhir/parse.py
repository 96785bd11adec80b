"""Turn a request body into a validated resource dict, or a precise 400.

Structure (JSON shape, element names, primitive types) is checked with the R4B models;
profile and invariant rules are the validator's job (422).
"""

from __future__ import annotations

import re
from typing import Any

from app.fhir.errors import BadRequest, Issue, StructureError
from app.fhir.json import loads
from app.fhir.models import SERVED, ValidationError, validate
from app.fhir.shape import check_shape

# https://hl7.org/fhir/R4/datatypes.html#id
ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def check_id(res_id: str, where: str = "id") -> str:
    """Raise BadRequest unless res_id follows FHIR's id rules."""
    if not ID_RE.match(res_id):
        raise BadRequest(
            f"'{res_id[:80]}' is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .).", expression=where
        )
    return res_id


def parse_json_object(body: bytes, max_depth: int) -> dict[str, Any]:
    """Parse the body as one JSON object."""
    if not body.strip():
        raise BadRequest("The request body is empty; a FHIR resource was expected.")
    data = loads(body, max_depth=max_depth)
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else "a scalar"
        raise BadRequest(f"The body is {kind}; a FHIR resource (a JSON object) was expected.")
    return data


def parse_resource(body: bytes, expected_type: str | None, max_depth: int) -> dict[str, Any]:
    """Parse and structurally validate a resource of the expected type (None: any served type)."""
    data = parse_json_object(body, max_depth)
    rtype = data.get("resourceType")
    if not isinstance(rtype, str):
        raise BadRequest("The resource has no resourceType.", expression="resourceType")
    if expected_type is not None and rtype != expected_type:
        raise BadRequest(
            f"resourceType '{rtype[:64]}' does not match the URL's type '{expected_type}'.",
            expression="resourceType",
        )
    if rtype not in SERVED:
        raise BadRequest(f"Resource type '{rtype[:64]}' is not served here.", expression="resourceType")
    check_structure(rtype, data)
    return data


def check_structure(rtype: str, data: dict[str, Any]) -> None:
    """Validate JSON shape and the R4B model; every problem becomes an issue with its FHIRPath."""
    shape_issues = check_shape(rtype, data)
    if shape_issues:
        raise StructureError(shape_issues[0].diagnostics, issues=shape_issues)
    try:
        validate(rtype, data)
    except ValidationError as exc:
        issues = [_issue(rtype, err) for err in exc.errors()[:50]]
        raise StructureError(issues[0].diagnostics, issues=issues) from None
    except (ValueError, TypeError, KeyError) as exc:
        # fhir_core raises KeyError for a contained resource of an unknown type.
        raise StructureError(f"The resource is not valid {rtype}: {exc}") from None


def _issue(rtype: str, err: Any) -> Issue:
    """One pydantic error as an OperationOutcome issue."""
    path = loc_to_fhirpath(rtype, err.get("loc", ()))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        text = f"Unknown element '{path.rsplit('.', 1)[-1]}' at {path}."
    elif kind == "missing":
        text = f"Required element missing at {path}."
    else:
        text = f"Invalid value at {path}: {err.get('msg', 'invalid')}."
    return Issue("error", "structure", text, (path,))


def loc_to_fhirpath(rtype: str, loc: tuple[Any, ...]) -> str:
    """Convert a pydantic error location into a FHIRPath expression."""
    out = rtype
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _is_element(part):
            out += "." + (part[1:] if part.startswith("_") else part)
    return out


def _is_element(part: str) -> bool:
    """Filter pydantic-internal location parts (validator names, union tags)."""
    return bool(part) and not any(c in part for c in "[]() ,-") and part != "__root__"
