"""The single hook where consent/access rules join every search query (before paging).

Every query the search engine builds for a resource type (matches, _include, _revinclude,
chain targets, _has sources, totals) is filtered through `visible_clause`, so a policy added
here is enforced everywhere at once, inside SQL.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute

from app.consent import hooks as consent_hooks
from app.services.context import RequestContext


def visible_clause(
    ctx: RequestContext, res_type: str, pk_column: ColumnElement[int] | QueryableAttribute[int]
) -> ColumnElement[bool] | None:
    """A condition on `pk_column` limiting rows of `res_type` to what `ctx` may see; None = all."""
    if ctx.privileged:
        return None
    # Consent enforcement (app/consent): the actor's AccessScope as an indexed semi-join.
    return consent_hooks.visible_clause(ctx, res_type, pk_column)
