"""The forms service: scope checks on every read, and an audit record naming what the caller was shown."""

from __future__ import annotations

import httpx
import pytest

from app.db.engine import Database
from app.fhir.errors import Forbidden
from app.forms.service import FormsService
from app.security.interactions import Interaction
from app.services.context import ActorKind, RequestContext
from tests.forms.factories import kriseplan_skjema, seed_form, seed_network

OPEN = RequestContext(kind=ActorKind.OPEN, request_id="forms-test")


def health(*scopes: str) -> RequestContext:
    """A doctor at a DPS with the given SMART scopes."""
    return RequestContext(
        kind=ActorKind.HEALTH,
        request_id="forms-test",
        hpr="9144900",
        org="974589095",
        scopes=frozenset(scopes),
        purpose_of_use="TREAT",
        service_type="phv",
        name="Lege Hansen",
    )


async def test_the_audit_record_names_everything_populate_showed(
    client: httpx.AsyncClient, db: Database
) -> None:
    await seed_form(db)
    ids = await seed_network(client)
    async with db.session(write=True) as session:
        service = FormsService(session, OPEN, db.settings)
        await service.populate(kriseplan_skjema(), f"Patient/{ids['patient']}")
        record = service.store.audit_record("$populate", "Questionnaire")
    assert record.interaction is Interaction.OPERATION and record.operation == "$populate"
    shown = {f"{t}/{i}" for t, i, _ in record.entities}
    assert shown == {
        f"Patient/{ids['patient']}",
        f"RelatedPerson/{ids['brother']}",
        f"CareTeam/{ids['team']}",
        f"Organization/{ids['dps']}",
        f"Organization/{ids['kommune']}",
    }
    assert all(v == 1 for _, _, v in record.entities) and len(record.contents) == len(record.entities)


async def test_populate_needs_read_scopes_for_what_it_reads(client: httpx.AsyncClient, db: Database) -> None:
    await seed_form(db)
    ids = await seed_network(client)
    async with db.session(write=False) as session:
        service = FormsService(session, health("user/Questionnaire.rs"), db.settings)
        with pytest.raises(Forbidden):
            await service.populate(kriseplan_skjema(), f"Patient/{ids['patient']}")
