"""One error family: every failure is a FhirError rendered as an OperationOutcome.

See https://hl7.org/fhir/R4/operationoutcome.html and https://hl7.org/fhir/R4/http.html.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue."""

    severity: Severity
    code: str
    diagnostics: str
    expression: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Render as FHIR JSON."""
        out: dict[str, Any] = {"severity": self.severity, "code": self.code}
        if self.diagnostics:
            out["diagnostics"] = self.diagnostics
        if self.expression:
            out["expression"] = list(self.expression)
        return out


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """Build an OperationOutcome resource from issues."""
    return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]}


class FhirError(Exception):
    """Base of all errors that become an OperationOutcome response."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid"

    def __init__(
        self,
        diagnostics: str,
        *,
        expression: str | list[str] | None = None,
        issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        if isinstance(expression, str):
            expression = [expression]
        self.issues = issues or [
            Issue("error", self.code, diagnostics, tuple(expression or ()))
        ]
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        """The OperationOutcome for this error."""
        return operation_outcome(self.issues)


class BadRequest(FhirError):
    """400: the request cannot be understood (syntax, bad parameter)."""


class StructureError(BadRequest):
    """400: the resource does not parse as FHIR R4 (unknown element, wrong type)."""

    code = "structure"


class Unauthorized(FhirError):
    """401: no valid credentials."""

    status = 401
    code = "login"


class Forbidden(FhirError):
    """403: authenticated, but not allowed."""

    status = 403
    code = "forbidden"


class NotFound(FhirError):
    """404: unknown resource, or one the caller may not see."""

    status = 404
    code = "not-found"


class NotSupported(FhirError):
    """404/405: an interaction or type this server does not offer."""

    status = 404
    code = "not-supported"


class MethodNotAllowed(FhirError):
    """405: the HTTP method is not allowed on this URL."""

    status = 405
    code = "not-supported"


class NotAcceptable(FhirError):
    """406: no representation matches Accept or _format."""

    status = 406
    code = "not-supported"


class Conflict(FhirError):
    """409: the request conflicts with the current state."""

    status = 409
    code = "conflict"


class Gone(FhirError):
    """410: the resource was deleted."""

    status = 410
    code = "deleted"


class PreconditionFailed(FhirError):
    """412: If-Match or a conditional interaction's criteria did not hold."""

    status = 412
    code = "conflict"


class PayloadTooLarge(FhirError):
    """413: the body or Bundle is larger than allowed."""

    status = 413
    code = "too-costly"


class UnsupportedMediaType(FhirError):
    """415: the body's Content-Type is not FHIR JSON."""

    status = 415
    code = "not-supported"


class Unprocessable(FhirError):
    """422: valid FHIR, but it breaks a profile or a business rule."""

    status = 422
    code = "processing"


class PreconditionRequired(FhirError):
    """428: the update must be version-aware (If-Match)."""

    status = 428
    code = "conflict"


class ServiceUnavailable(FhirError):
    """503: a dependency (database, audit log) is unavailable."""

    status = 503
    code = "transient"


@dataclass(slots=True)
class Outcome:
    """A collection of non-fatal issues (warnings, information) to report with a result."""

    issues: list[Issue] = field(default_factory=list)

    def add(self, severity: Severity, code: str, text: str, expression: str | None = None) -> None:
        """Add an issue."""
        self.issues.append(Issue(severity, code, text, (expression,) if expression else ()))
