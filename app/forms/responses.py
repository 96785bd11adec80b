"""QuestionnaireResponse checks with the Questionnaire looked up: the write path and $validate."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.fhir.errors import Issue, Severity, Unprocessable
from app.forms.qr_validation import validate_response
from app.forms.store import FormStore
from app.services.context import RequestContext

OWN_CANONICALS = "https://fellesplan.no/fhir/"


async def response_issues(
    session: AsyncSession, ctx: RequestContext, settings: Settings, response: dict[str, Any]
) -> list[Issue]:
    """Issues of a QuestionnaireResponse against the Questionnaire its `questionnaire` names."""
    canonical = response.get("questionnaire")
    if not isinstance(canonical, str) or not canonical:
        return []  # R4: questionnaire is optional; there is nothing to check against
    questionnaire = await FormStore(session, ctx, settings).questionnaire(
        canonical, response.get("contained")
    )
    if questionnaire is None:
        # Our own forms must be known; a form from elsewhere (Helsenorge, NAV) is accepted unchecked.
        severity: Severity = "error" if canonical.startswith(OWN_CANONICALS) else "warning"
        return [
            Issue(
                severity,
                "not-found",
                f"Questionnaire '{canonical[:200]}' is not known here, so "
                "the answers were not checked against it",
                ("QuestionnaireResponse.questionnaire",),
            )
        ]
    return validate_response(response, questionnaire)


async def check_response_for_write(
    session: AsyncSession, ctx: RequestContext, settings: Settings, res_type: str, resource: dict[str, Any]
) -> None:
    """Raise Unprocessable (422, one issue per error) for a QuestionnaireResponse that does not fit."""
    if res_type != "QuestionnaireResponse":
        return
    errors = [
        i for i in await response_issues(session, ctx, settings, resource) if i.severity in ("error", "fatal")
    ]
    if errors:
        raise Unprocessable(
            f"The QuestionnaireResponse does not fit its Questionnaire: {errors[0].diagnostics}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            issues=errors,
        )
