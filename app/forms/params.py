"""Reading operation parameters from the query string and a Parameters body alike."""

from __future__ import annotations

from typing import Any

from app.fhir.errors import BadRequest


def parameter(body: dict[str, Any] | None, query: list[tuple[str, str]], name: str) -> Any:
    """A parameter's value: a resource, a value[x], or the query string's text (None when absent)."""
    if body is not None and body.get("resourceType") == "Parameters":
        for p in body.get("parameter") or []:
            if isinstance(p, dict) and p.get("name") == name:
                if "resource" in p:
                    return p["resource"]
                return next((v for k, v in p.items() if k.startswith("value")), None)
    return next((v for k, v in query if k == name), None)


def as_bool(value: Any, name: str) -> bool:
    """A boolean parameter (true/false in the query, valueBoolean in the body)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise BadRequest(f"Parameter '{name}' must be true or false.", expression=name)


def as_reference(value: Any, name: str) -> str | None:
    """A reference parameter as 'Type/id' (valueReference or text)."""
    if value is None:
        return None
    ref = value.get("reference") if isinstance(value, dict) else value
    if not isinstance(ref, str) or not ref:
        raise BadRequest(f"Parameter '{name}' must be a reference.", expression=name)
    return ref


def parameters(*parts: tuple[str, dict[str, Any] | None]) -> dict[str, Any]:
    """A Parameters resource with resource-valued parts (None parts are left out)."""
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": n, "resource": r} for n, r in parts if r is not None],
    }
