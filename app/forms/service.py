"""The forms service: $populate, $extract and $document for one request's actor. Never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.fhir.errors import BadRequest, Issue, NotFound, Unprocessable
from app.fhir.json import loads_stored
from app.fhir.models import SERVED
from app.fhir.parse import check_id
from app.forms.document import document_bundle, referenced
from app.forms.extract import Extracted, build_careplan, transaction, unmapped_issues
from app.forms.kriseplan_form import FORM_URL, KRISEPLAN_URL
from app.forms.patient_data import load_patient_data
from app.forms.populate import populate_response
from app.forms.qr_validation import validate_response
from app.forms.questionnaire import split_canonical
from app.forms.store import FormStore
from app.security import hooks
from app.services.context import RequestContext
from app.services.crud import ResourceService


class FormsService:
    """Forms logic on top of the resource and search services."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings
        self.store = FormStore(session, ctx, settings)

    async def read(self, res_type: str, res_id: str) -> dict[str, Any]:
        """A stored resource through the CRUD service (authorised and audited; 404/410)."""
        row = await ResourceService(self.session, self.ctx, self.settings).read(res_type, res_id)
        data = loads_stored(row.content or b"{}")
        assert isinstance(data, dict)
        return data

    async def questionnaire(
        self,
        canonical: str,
        contained: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The Questionnaire for a canonical, or 404."""
        found = await self.store.questionnaire(canonical, contained)
        if found is None:
            raise NotFound(f"Questionnaire '{canonical[:200]}' is not known.", expression="questionnaire")
        return found

    async def populate(
        self, questionnaire: dict[str, Any], subject: str
    ) -> tuple[dict[str, Any], list[Issue]]:
        """A response pre-filled for the subject (a 'Patient/<id>' reference)."""
        res_type, _, res_id = subject.partition("/")
        if res_type != "Patient" or not res_id:
            raise BadRequest("$populate: subject must reference a Patient.", expression="subject")
        data = await load_patient_data(self.store, check_id(res_id, "subject"))
        response, issues = populate_response(questionnaire, data)
        await hooks.audit(self.session, self.ctx, self.store.audit_record("$populate", "Questionnaire"))
        # Pre-filled values that do not fit the form are reported, never silently dropped.
        problems = [i for i in validate_response(response, questionnaire) if i.severity == "error"]
        return response, issues + [Issue("warning", i.code, i.diagnostics, i.expression) for i in problems]

    async def extract(
        self, response: dict[str, Any], questionnaire: dict[str, Any] | None
    ) -> tuple[dict[str, Any], list[Issue]]:
        """The transaction Bundle (CarePlan + Provenance) for a kriseplan-skjema response, and notes."""
        if questionnaire is None:
            canonical = response.get("questionnaire")
            if not isinstance(canonical, str):
                raise Unprocessable(
                    "$extract needs QuestionnaireResponse.questionnaire.",
                    expression="QuestionnaireResponse.questionnaire",
                )
            questionnaire = await self.questionnaire(canonical, response.get("contained"))
        if split_canonical(str(questionnaire.get("url", "")))[0] != FORM_URL:
            raise Unprocessable(
                f"$extract supports {FORM_URL} (it has the definitions); got "
                f"'{str(questionnaire.get('url'))[:200]}'.",
                expression="questionnaire",
            )
        _raise_errors(
            "The response does not fit its Questionnaire", validate_response(response, questionnaire)
        )
        subject = str((response.get("subject") or {}).get("reference") or "")
        if not subject.startswith("Patient/"):
            raise Unprocessable(
                "$extract needs the response's subject (a Patient).",
                expression="QuestionnaireResponse.subject",
            )
        data = await load_patient_data(self.store, check_id(subject.split("/", 1)[1], "subject"))
        extracted = build_careplan(response, questionnaire, data, await self._author(response))
        await hooks.audit(
            self.session, self.ctx, self.store.audit_record("$extract", "QuestionnaireResponse")
        )
        _raise_errors("The extracted Kriseplan does not conform", _profile_errors(extracted))
        author = extracted.careplan["author"]
        bundle = transaction(extracted, _response_ref(response), author, self.settings.base)
        return bundle, unmapped_issues(response, questionnaire)

    async def _author(self, response: dict[str, Any]) -> dict[str, Any]:
        """The plan's author: the response's, else the caller's organisation, else the revised plan's."""
        author = response.get("author")
        if isinstance(author, dict) and (author.get("reference") or author.get("display")):
            return {k: author[k] for k in ("reference", "display") if k in author}
        if self.ctx.org_ref:
            return {
                "reference": self.ctx.org_ref,
                **({"display": self.ctx.org_name} if self.ctx.org_name else {}),
            }
        for ref in response.get("basedOn") or []:
            parts = str(ref.get("reference") or "").split("/")
            if parts[0] == "CarePlan" and len(parts) > 1:
                previous = await self.store.get("CarePlan", parts[1])
                if previous and previous.get("author"):
                    return dict(previous["author"])
        raise Unprocessable(
            "A Kriseplan needs an author: set QuestionnaireResponse.author.",
            expression="QuestionnaireResponse.author",
        )

    async def document(self, careplan_id: str) -> dict[str, Any]:
        """The document Bundle of a stored plan, with the referenced resources the caller may see."""
        plan = await self.read("CarePlan", careplan_id)
        others: list[dict[str, Any]] = []
        for ref in referenced(plan):
            res_type, _, res_id = ref.partition("/")
            # Only served types can be read here (a performer may be a Device or HealthcareService).
            found = await self.store.get(res_type, res_id) if res_type in SERVED and res_id else None
            if found is not None:
                others.append(found)
        await hooks.audit(self.session, self.ctx, self.store.audit_record("$document", "CarePlan"))
        return document_bundle(plan, others, self.settings.base)


def _profile_errors(extracted: Extracted) -> list[Issue]:
    """Errors of the extracted plan against the Kriseplan profile."""
    from app.validation.hook import validate_resource

    probe = dict(extracted.careplan)
    probe.setdefault("id", "extracted")
    return validate_resource(probe, profile=KRISEPLAN_URL)


def _raise_errors(what: str, issues: list[Issue]) -> None:
    """422 with every error, when there is one."""
    errors = [i for i in issues if i.severity in ("error", "fatal")]
    if errors:
        raise Unprocessable(
            f"{what}: {errors[0].diagnostics}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            issues=errors,
        )


def _response_ref(response: dict[str, Any]) -> dict[str, Any]:
    """How the Provenance names the response: by id when stored, else by description."""
    if response.get("id"):
        return {"reference": f"QuestionnaireResponse/{response['id']}"}
    return {"display": "Utfylt kriseplan-skjema (ikke lagret)"}
