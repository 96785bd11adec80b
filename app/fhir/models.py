"""The only module that imports fhir.resources: R4B models used for R4 4.0.1 on the wire.

R4B and R4 share the JSON shape of every type Fellesplan serves; the model only validates.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

FHIR_VERSION = "4.0.1"

# The types Fellesplan stores and serves (DEVELOPERS.md).
SERVED_TYPES: tuple[str, ...] = (
    "AuditEvent",
    "CarePlan",
    "CareTeam",
    "Consent",
    "Goal",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "Subscription",
)
SERVED: frozenset[str] = frozenset(SERVED_TYPES)

__all__ = ["FHIR_VERSION", "SERVED", "SERVED_TYPES", "ValidationError", "model_class", "validate"]


@cache
def model_class(resource_type: str) -> Any:
    """The pydantic model class for a resource or data type name."""
    return get_fhir_model_class(resource_type)


def validate(resource_type: str, data: dict[str, Any]) -> Any:
    """Validate a resource dict with its model; raises pydantic's ValidationError."""
    return model_class(resource_type).model_validate(data)


def load_all() -> None:
    """Import every served model now (at start-up), not on the first request of each type."""
    for name in SERVED_TYPES:
        model_class(name)
