"""Refused access attempts (403, hidden 404) in the audit log: snooping must leave a trace.

The error handler calls `record_refusal` after authentication succeeded and the request was
refused. The patient of a hidden resource is looked up internally, so the attempt shows in that
patient's log, while the requester learns nothing.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request

from app.security import audit, policy
from app.security.interactions import AuditRecord, Interaction

log = logging.getLogger("fellesplan.audit")

_PATH = re.compile(r"^/fhir/([A-Z][A-Za-z]{1,63})(?:/([A-Za-z0-9\-.]{1,64})"
                   r"(?:/_history(?:/(\d{1,9}))?)?)?/?$")
_BY_METHOD = {"POST": Interaction.CREATE, "PUT": Interaction.UPDATE,
              "PATCH": Interaction.PATCH, "DELETE": Interaction.DELETE}


def _what(request: Request) -> tuple[Interaction, str, list[tuple[str, str, int | None]]] | None:
    """The interaction and target of a plain REST URL on a clinical type, else None."""
    m = _PATH.match(request.url.path)
    if m is None or policy.category(m.group(1)) == "registry":
        return None
    res_type, res_id, vid = m.group(1), m.group(2), m.group(3)
    if request.method in _BY_METHOD:
        interaction = _BY_METHOD[request.method]
    elif res_id is None:
        interaction = Interaction.SEARCH_TYPE
    else:
        interaction = Interaction.VREAD if vid else Interaction.READ
    entities = [(res_type, res_id, int(vid) if vid else None)] if res_id else []
    return interaction, res_type, entities


async def record_refusal(request: Request, status: int) -> None:
    """Audit a refused request of an authenticated actor; never raises."""
    ctx = getattr(request.state, "fellesplan_ctx", None)
    db = getattr(request.app.state, "db", None)
    what = _what(request)
    if ctx is None or ctx.privileged or db is None or what is None:
        return
    interaction, res_type, entities = what
    rec = AuditRecord(interaction, res_type, status, entities, query=request.url.query or None)
    try:
        async with db.session(write=False) as session:
            ents = await audit.entities(session, rec)
        new = audit.events(ctx, rec, ents, db.settings.audit_source_name, db.settings.base)
        await audit.writer_for(db, db.settings.audit_batch_max).write(new)
    except Exception:  # the answer is already a refusal; losing its trace must not mask it
        log.exception("could not audit a refused request")
