"""Finding a response's Questionnaire among stored ones, and the write-path check built on it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.db.engine import Database
from app.fhir.errors import Issue, Unprocessable
from app.forms.responses import check_response_for_write, response_issues
from app.services.context import SYSTEM
from tests.factories.resources import uid
from tests.forms.factories import (
    FORM_URL,
    answer_item,
    kriseplan_response,
    put,
    question,
    questionnaire,
    seed_form,
    spec_example,
)
from tests.helpers import JSON_HEADERS, history_count, outcome


async def issues_for(db: Database, qr: dict[str, Any]) -> list[Issue]:
    """response_issues in a read session."""
    async with db.session(write=False) as session:
        return await response_issues(session, SYSTEM, db.settings, qr)


async def stored_questionnaire(client: httpx.AsyncClient, **over: Any) -> dict[str, Any]:
    """A stored Questionnaire with one required integer 0..10."""
    ext = [{"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 10}]
    return await put(client, questionnaire(question("a", "integer", required=True, extension=ext), **over))


async def test_found_by_canonical_url_and_version(client: httpx.AsyncClient, db: Database) -> None:
    q = await stored_questionnaire(client, version="2")
    bad = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [answer_item("a", {"valueInteger": 11})],
    }
    for canonical in (q["url"], f"{q['url']}|2", f"Questionnaire/{q['id']}"):
        issues = await issues_for(db, {**bad, "questionnaire": canonical})
        assert [i.expression for i in issues] == [
            ("QuestionnaireResponse.item[0].answer[0].valueInteger",)
        ], canonical
    assert [i.code for i in await issues_for(db, {**bad, "questionnaire": f"{q['url']}|9"})] == ["not-found"]


async def test_contained_questionnaire(db: Database) -> None:
    q = questionnaire(question("a", "integer", required=True))
    q["id"] = "q"
    qr = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "#q",
        "status": "completed",
        "contained": [q],
    }
    assert [i.code for i in await issues_for(db, qr)] == ["required"]


async def test_unknown_questionnaires(db: Database) -> None:
    ours = await issues_for(
        db,
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": "https://fellesplan.no/fhir/Questionnaire/finnes-ikke",
        },
    )
    assert [(i.severity, i.code) for i in ours] == [("error", "not-found")]
    # The official ussg-fht response names a Questionnaire nobody stored: accepted, with a warning.
    theirs = await issues_for(db, spec_example("QuestionnaireResponse-ussg-fht-answers.json"))
    assert [(i.severity, i.expression) for i in theirs] == [
        ("warning", ("QuestionnaireResponse.questionnaire",))
    ]
    assert await issues_for(db, {"resourceType": "QuestionnaireResponse", "status": "completed"}) == []


async def test_write_check_raises_one_issue_per_problem(client: httpx.AsyncClient, db: Database) -> None:
    await seed_form(db)
    qr = kriseplan_response(f"Patient/{uid()}")
    del qr["item"][1]["item"][0]["answer"]  # tidlige-tegn.tekst is required
    qr["item"][6]["item"].append(answer_item("barn-og-dyr.tekst", {"valueString": "x"}))  # disabled
    async with db.session(write=False) as session:
        with pytest.raises(Unprocessable) as caught:
            await check_response_for_write(session, SYSTEM, db.settings, "QuestionnaireResponse", qr)
        assert [(i.code, i.expression) for i in caught.value.issues] == [
            ("required", ("QuestionnaireResponse.item[1].item[0]",)),
            ("business-rule", ("QuestionnaireResponse.item[6].item[1].answer[0]",)),
        ]
        # In progress: required does not apply, the disabled answer still does.
        qr["status"] = "in-progress"
        with pytest.raises(Unprocessable) as caught:
            await check_response_for_write(session, SYSTEM, db.settings, "QuestionnaireResponse", qr)
        assert [i.code for i in caught.value.issues] == ["business-rule"]
        await check_response_for_write(session, SYSTEM, db.settings, "CarePlan", qr)  # other types pass
        await check_response_for_write(
            session, SYSTEM, db.settings, "QuestionnaireResponse", kriseplan_response(f"Patient/{uid()}")
        )


async def test_invalid_response_is_refused_on_write(client: httpx.AsyncClient, db: Database) -> None:
    await seed_form(db)
    qr = kriseplan_response(f"Patient/{uid()}")
    del qr["item"][1]["item"][0]["answer"]
    before = await history_count(client, "QuestionnaireResponse")
    resp = await client.post("/fhir/QuestionnaireResponse", json=qr, headers=JSON_HEADERS)
    outcome(resp, 422, code="required", expression="QuestionnaireResponse.item[1].item[0]")
    assert await history_count(client, "QuestionnaireResponse") == before
    assert FORM_URL


async def test_an_active_version_wins_when_the_url_has_several(
    client: httpx.AsyncClient, db: Database
) -> None:
    url = f"https://example.org/q/{uid()}"
    for q_type, version, status in (
        ("integer", "1", "retired"),
        ("string", "2", "active"),
        ("boolean", "3", "draft"),
    ):
        q = questionnaire(question("a", q_type), version=version, status=status)
        await put(client, {**q, "url": url})
    qr = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": url,
        "status": "completed",
        "item": [answer_item("a", {"valueString": "x"})],
    }
    assert await issues_for(db, qr) == []
    assert [i.code for i in await issues_for(db, {**qr, "questionnaire": f"{url}|1"})] == ["value"]
