"""Store the profile-defined Questionnaires at start-up, so they are served like any other."""

from __future__ import annotations

import copy
import logging

from sqlalchemy.exc import IntegrityError

from app.db.engine import Database
from app.services.context import SYSTEM
from app.services.crud import ResourceService
from app.validation.hook import profile_questionnaires

log = logging.getLogger("fellesplan")


async def seed_profile_resources(db: Database) -> None:
    """Upsert each profile Questionnaire; unchanged content writes no new version."""
    for questionnaire in profile_questionnaires():
        try:
            async with db.session(write=True) as session:
                service = ResourceService(session, SYSTEM, db.settings)
                await service.update("Questionnaire", questionnaire["id"], copy.deepcopy(questionnaire))
        except IntegrityError:
            # Another node inserted it at the same moment; its copy is identical.
            log.info("Questionnaire/%s was seeded concurrently", questionnaire["id"])
