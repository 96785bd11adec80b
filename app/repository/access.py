"""SQL for consent enforcement: actor identity, care relationships, consents, visibility clauses.

Everything here is an index-backed semi-join on the search index tables (search_reference,
search_token), so the visibility clause is AND-ed into every search before paging.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.consent import expr as E
from app.consent.policy import Policy
from app.db.index_tables import ReferenceIndex, TokenIndex
from app.db.tables import ResourceRow, VersionRow

R = ResourceRow
Ref = tuple[str, str]  # (type, id)
CHUNK = 500
TEAM_PARAMS = ("participant", "pa-vegne-av")


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    """IN-list sized chunks."""
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)] or [[]]


def _in(col: Any, values: Sequence[Any] | Select[Any]) -> ColumnElement[bool]:
    """col IN values, chunked for long lists; a Select is used as a semi-join."""
    if isinstance(values, Select):
        return col.in_(values)  # type: ignore[no-any-return]
    if not values:
        return false()
    return or_(*(col.in_(list(c)) for c in _chunks(list(values))))


def _targets(ref: Any, refs: Iterable[Ref]) -> ColumnElement[bool]:
    """ref.target (type, id) is one of `refs`, one IN list per type."""
    by_type: dict[str, list[str]] = {}
    for t, i in refs:
        by_type.setdefault(t, []).append(i)
    return or_(false(), *(and_(ref.target_type == t, _in(ref.target_id, ids))
                          for t, ids in sorted(by_type.items())))


async def _contents(session: AsyncSession, stmt: Select[Any]) -> list[dict[str, Any]]:
    """Parsed content of current resources selected by pk."""
    rows = await session.execute(
        select(R.content).where(R.pk.in_(stmt), R.deleted == false()).order_by(R.pk))
    return [orjson.loads(c) for (c,) in rows.all() if c]


async def ids_with_token(session: AsyncSession, res_type: str, param: str, system: str,
                         value: str) -> list[str]:
    """ids of current resources with a token system|value (e.g. Practitioner by HPR)."""
    t = TokenIndex
    sub = select(t.res_pk).where(t.res_type == res_type, t.param == param, t.system == system,
                                 t.value == value)
    rows = await session.execute(select(R.res_id).where(R.pk.in_(sub), R.deleted == false()))
    return sorted(r[0] for r in rows.all())


async def roles_of(session: AsyncSession, practitioner_ids: Sequence[str]) -> list[dict[str, Any]]:
    """PractitionerRoles of the given Practitioners."""
    if not practitioner_ids:
        return []
    ref = ReferenceIndex
    sub = select(ref.res_pk).where(ref.res_type == "PractitionerRole", ref.param == "practitioner",
                                   _targets(ref, [("Practitioner", i) for i in practitioner_ids]))
    return await _contents(session, sub)


def _teams(policy: Policy, members: Sequence[Ref]) -> Select[Any]:
    """pks of CareTeams in an active status that have one of `members` as participant."""
    ref, tok = aliased(ReferenceIndex), aliased(TokenIndex)
    statuses = list(_care_rule_list(policy, "careTeamStatus"))
    active = select(tok.res_pk).where(tok.res_type == "CareTeam", tok.param == "status",
                                      _in(tok.value, statuses)).correlate(None)
    return select(ref.res_pk).where(ref.res_type == "CareTeam", ref.param.in_(TEAM_PARAMS),
                                    _targets(ref, members), ref.res_pk.in_(active)).correlate(None)


def _care_rule_list(policy: Policy, key: str) -> list[str]:
    """A list setting of the care rule."""
    rule = policy.rule("care")
    return list(rule.raw.get(key, ())) if rule is not None else []


def care_patients(policy: Policy, members: Sequence[Ref]) -> Select[Any]:
    """ids of Patients the members have a care relationship with (team or generalPractitioner)."""
    ref, gp, r = aliased(ReferenceIndex), aliased(ReferenceIndex), aliased(ResourceRow)
    via_team = select(ref.target_id.label("pid")).where(
        ref.res_type == "CareTeam", ref.param == "patient", ref.target_type == "Patient",
        ref.res_pk.in_(_teams(policy, members))).correlate(None)
    via_gp = select(r.res_id.label("pid")).where(r.res_type == "Patient", r.pk.in_(
        select(gp.res_pk).where(gp.res_type == "Patient", gp.param == "general-practitioner",
                                _targets(gp, members)).correlate(None))).correlate(None)
    return select(union(via_team, via_gp).subquery().c.pid).correlate(None)


async def team_ids(session: AsyncSession, policy: Policy, members: Sequence[Ref]) -> list[str]:
    """ids of the active CareTeams the members belong to (to match Consents naming a team)."""
    if not members:
        return []
    rows = await session.execute(select(R.res_id).where(R.pk.in_(_teams(policy, members))))
    return sorted(r[0] for r in rows.all())


async def care_among(session: AsyncSession, policy: Policy, members: Sequence[Ref],
                     patients: Sequence[str]) -> set[str]:
    """Which of `patients` the members have a care relationship with."""
    if not members or not patients:
        return set()
    sub = care_patients(policy, members).subquery()
    rows = await session.execute(select(sub.c.pid).where(_in(sub.c.pid, list(patients))))
    return {r[0] for r in rows.all()}


async def consents_naming(
    session: AsyncSession, refs: Sequence[Ref], identifiers: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Current Consents whose provisions (any indexed depth) name the actor's refs or identifiers."""
    ref, tok = aliased(ReferenceIndex), aliased(TokenIndex)
    by_ref = select(ref.res_pk).where(ref.res_type == "Consent", ref.param == "aktor",
                                      _targets(ref, refs))
    by_ident = select(tok.res_pk).where(tok.res_type == "Consent", tok.param == "aktor:identifier",
                                        or_(false(), *(and_(tok.system == s, tok.value == v)
                                                       for s, v in identifiers)))
    return await _contents(session, select(union(by_ref, by_ident).subquery().c.res_pk))


async def version_contents(session: AsyncSession, pk: int) -> list[bytes]:
    """The newest stored content of a resource's versions (deletes skipped)."""
    rows = await session.execute(
        select(VersionRow.content).where(VersionRow.res_pk == pk, VersionRow.content.is_not(None))
        .order_by(VersionRow.version_id.desc()).limit(1))
    return [r[0] for r in rows.all() if r[0] is not None]


# -- the visibility clause ---------------------------------------------------------------------


def owner_in(policy: Policy, res_type: str, pk: Any, ids: Sequence[str] | Select[Any]) -> Any:
    """Rows of `res_type` whose owning Patient is one of `ids` (list or id subquery)."""
    spec = policy.compartment[res_type]
    if spec[0] == "_self":
        r = aliased(ResourceRow)
        return pk.in_(select(r.pk).where(r.res_type == "Patient", _in(r.res_id, ids))
                      .correlate(None))
    ref = aliased(ReferenceIndex)
    return pk.in_(select(ref.res_pk).where(ref.res_type == res_type, ref.param == spec[0],
                                           ref.target_type == "Patient", _in(ref.target_id, ids))
                  .correlate(None))


def owned(policy: Policy, res_type: str, pk: Any) -> Any:
    """Rows of `res_type` that have an owning Patient at all."""
    spec = policy.compartment[res_type]
    if spec[0] == "_self":
        return true()
    ref = aliased(ReferenceIndex)
    return pk.in_(select(ref.res_pk).where(ref.res_type == res_type, ref.param == spec[0],
                                           ref.target_type == "Patient").correlate(None))


def _has_codings(res_type: str, param: str, pk: Any, codings: Iterable[tuple[str, str]]) -> Any:
    """Rows with a token (system, code) among `codings` ('' system means none)."""
    tok = aliased(TokenIndex)
    terms = [and_(tok.system.is_(None) if not s else tok.system == s, tok.value == c)
             for s, c in sorted(codings)]
    return pk.in_(select(tok.res_pk).where(tok.res_type == res_type, tok.param == param,
                                           or_(false(), *terms)).correlate(None))


def _kind(policy: Policy, pk: Any, kinds: frozenset[str]) -> Any:
    """CarePlans whose plan kind (first matching kind in policy order, else 'plan') is in kinds."""
    terms: list[Any] = []
    earlier: list[Any] = []
    for kind, codings in policy.plan_types.items():
        has = _has_codings("CarePlan", "category", pk, codings)
        if kind in kinds:
            terms.append(and_(has, *(~e for e in earlier)))
        earlier.append(has)
    if "plan" in kinds:
        terms.append(and_(true(), *(~e for e in earlier)))
    return or_(false(), *terms)


def compile_expr(policy: Policy, res_type: str, pk: Any, e: E.Expr) -> Any:
    """SQL for an expression over the row (Section leaves already fixed to the header)."""
    if isinstance(e, E.Const):
        return true() if e.value else false()
    if isinstance(e, E.Kind):
        return _kind(policy, pk, e.kinds) if res_type == "CarePlan" else false()
    if isinstance(e, E.Ids):
        r = aliased(ResourceRow)
        return pk.in_(select(r.pk).where(r.res_type == res_type, _in(r.res_id, sorted(e.ids)))
                      .correlate(None))
    if isinstance(e, E.Label):
        return _has_codings(res_type, "_security", pk, e.labels)
    if isinstance(e, E.Section):
        return true() if e.header else false()
    if isinstance(e, E.And):
        return and_(*(compile_expr(policy, res_type, pk, i) for i in e.items))
    if isinstance(e, E.Or):
        return or_(*(compile_expr(policy, res_type, pk, i) for i in e.items))
    return ~compile_expr(policy, res_type, pk, e.item)


def visibility(
    policy: Policy, res_type: str, pk: Any, groups: Sequence[tuple[E.Expr, Sequence[str]]],
    self_ids: Sequence[str], care_members: Sequence[Ref], emergency: E.Expr,
    named: Sequence[str], emergency_ids: Iterable[str] | None = None,
    lookup: Iterable[tuple[str, str]] = (),
) -> Any:
    """OR of the per-group rules of named patients and, for the others, self/care/emergency."""
    terms = [and_(owner_in(policy, res_type, pk, ids), compile_expr(policy, res_type, pk, e))
             for e, ids in groups if e != E.FALSE]
    rest = []
    if self_ids:
        rest.append(owner_in(policy, res_type, pk, self_ids))
    if care_members:
        rest.append(owner_in(policy, res_type, pk, care_patients(policy, care_members)))
    if emergency != E.FALSE:
        whose = (owned(policy, res_type, pk) if emergency_ids is None
                 else owner_in(policy, res_type, pk, sorted(emergency_ids)))
        rest.append(and_(whose, compile_expr(policy, res_type, pk, emergency)))
    if rest:
        others = or_(*rest)
        terms.append(and_(~owner_in(policy, res_type, pk, named), others) if named else others)
    if lookup:  # a registering service looking a patient up by national identifier
        terms.append(and_(_has_codings("Patient", "identifier", pk, lookup),
                          ~owner_in(policy, res_type, pk, named) if named else true()))
    return or_(false(), *terms)


async def careplans_of(session: AsyncSession, patient: str) -> list[dict[str, Any]]:
    """The patient's current CarePlans (for $access explanations)."""
    ref = aliased(ReferenceIndex)
    sub = select(ref.res_pk).where(ref.res_type == "CarePlan", ref.param == "patient",
                                   ref.target_type == "Patient", ref.target_id == patient)
    return await _contents(session, sub)
