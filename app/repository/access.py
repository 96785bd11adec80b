"""SQL for consent enforcement: actor identity, care relationships, consents, visibility clauses.

Everything here is an index-backed semi-join on the search index tables (search_reference,
search_token), so the visibility clause is AND-ed into every search before paging.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    false,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import expr as E
from app.consent.policy import Policy
from app.db.index_tables import ReferenceIndex, TokenIndex
from app.db.tables import ResourceRow, VersionRow
from app.repository.access_base import (
    TEAM_PARAMS,
    R,
    Ref,
    _alias,
    _care_rule_list,
    _chunks,
    _in,
    _targets,
    chunked,
    memo,
)


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
    ref, tok = _alias(ReferenceIndex), _alias(TokenIndex)
    statuses = list(_care_rule_list(policy, "careTeamStatus"))
    active = select(tok.res_pk).where(tok.res_type == "CareTeam", tok.param == "status",
                                      _in(tok.value, statuses)).correlate(None)
    return select(ref.res_pk).where(ref.res_type == "CareTeam", ref.param.in_(TEAM_PARAMS),
                                    _targets(ref, members), ref.res_pk.in_(active)).correlate(None)


def care_patients(policy: Policy, members: Sequence[Ref]) -> Select[Any]:
    """ids of Patients the members have a care relationship with (team or generalPractitioner)."""
    ref, gp, r = _alias(ReferenceIndex), _alias(ReferenceIndex), _alias(ResourceRow)
    via_team = select(ref.target_id.label("pid")).where(
        ref.res_type == "CareTeam", ref.param == "patient", ref.target_type == "Patient",
        ref.res_pk.in_(_teams(policy, members))).correlate(None)
    via_gp = select(r.res_id.label("pid")).where(r.res_type == "Patient", r.pk.in_(
        select(gp.res_pk).where(gp.res_type == "Patient", gp.param == "general-practitioner",
                                _targets(gp, members)).correlate(None))).correlate(None)
    return select(union(via_team, via_gp).subquery().c.pid).correlate(None)


async def care_among(session: AsyncSession, policy: Policy, members: Sequence[Ref],
                     patients: Sequence[str]) -> set[str]:
    """Which of `patients` the members have a care relationship with (driven by the patients)."""
    if not members or not patients:
        return set()
    stmt = memo(policy, ("care", id(policy), tuple(members)), lambda: _care_stmt(policy, members))
    out: set[str] = set()
    for chunk in chunked(patients):
        found: Any = await session.execute(stmt, {"patients": chunk})
        out |= {row[0] for row in found.all()}
    return out


def _care_stmt(policy: Policy, members: Sequence[Ref]) -> Any:
    """Patients (bound as `patients`) with a team or generalPractitioner relationship."""
    c, gp, r = _alias(ReferenceIndex), _alias(ReferenceIndex), _alias(ResourceRow)
    patients: Any = bindparam("patients", expanding=True)
    via_team = select(c.target_id).where(
        c.res_type == "CareTeam", c.param == "patient", c.target_type == "Patient",
        c.target_id.in_(patients), *_active_membership(policy, c.res_pk, members))
    via_gp = select(r.res_id).where(
        r.res_type == "Patient", r.res_id.in_(patients), r.deleted == false(),
        exists().where(gp.res_pk == r.pk, gp.param == "general-practitioner",
                       _targets(gp, members)))
    return union(via_team, via_gp)


def _names_actor(policy: Policy, consent_pk: Any, members: Sequence[Ref], related: Sequence[Ref],
                 identifiers: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """The Consent at `consent_pk` names the actor in a provision (correlated, per row)."""
    # Per Consent, not per actor: an organisation may be in thousands of teams. Filters on
    # res_pk alone (its type is implied) so SQLite's planner takes the (res_pk, param) index.
    a, tok, team = _alias(ReferenceIndex), _alias(TokenIndex), _alias(ResourceRow)
    member = exists().where(team.res_type == "CareTeam", team.res_id == a.target_id,
                            *_active_membership(policy, team.pk, members))
    by_ref = exists().where(a.res_pk == consent_pk, a.param == "aktor", or_(
        _targets(a, [*members, *related]),
        and_(a.target_type == "CareTeam", member) if members else false()))
    by_ident = exists().where(tok.res_pk == consent_pk, tok.param == "aktor:identifier",
                              or_(false(), *(and_(tok.system == s_, tok.value == v)
                                             for s_, v in identifiers)))
    return or_(by_ref, by_ident) if identifiers else by_ref


def owner_named(policy: Policy, res_type: str, pk: Any, members: Sequence[Ref],
                related: Sequence[Ref], identifiers: Sequence[tuple[str, str]]) -> Any:
    """Rows whose owning Patient has a current Consent naming the actor (per row, indexed)."""
    # Nested EXISTS fix the order: the row's owner first, then that patient's few Consents.
    spec, c = policy.compartment[res_type], _alias(ReferenceIndex)

    def consents_of(patient: Any) -> Any:
        return exists().where(c.res_type == "Consent", c.param == policy.compartment["Consent"][0],
                              c.target_type == "Patient", c.target_id == patient,
                              _names_actor(policy, c.res_pk, members, related, identifiers))
    if spec[0] == "_self":
        r = _alias(ResourceRow)
        return exists().where(r.pk == pk, consents_of(r.res_id))
    o = _alias(ReferenceIndex)
    return exists().where(o.res_pk == pk, o.param == spec[0], o.target_type == "Patient",
                          consents_of(o.target_id))


def _naming(policy: Policy, members: Sequence[Ref], related: Sequence[Ref],
            identifiers: Sequence[tuple[str, str]]) -> list[Select[Any]]:
    """Selects of the pks of current Consents naming the actor (driven by the actor)."""
    ref, tok, team = _alias(ReferenceIndex), _alias(TokenIndex), _alias(ResourceRow)
    teams = select(team.res_id).where(team.res_type == "CareTeam",
                                      team.pk.in_(_teams(policy, members))).correlate(None)
    by_ref = select(ref.res_pk).where(ref.res_type == "Consent", ref.param == "aktor", or_(
        _targets(ref, [*members, *related]),
        and_(ref.target_type == "CareTeam", ref.target_id.in_(teams)) if members else false()))
    by_ident = select(tok.res_pk).where(
        tok.res_type == "Consent", tok.param == "aktor:identifier",
        or_(false(), *(and_(tok.system == s, tok.value == v) for s, v in identifiers)))
    return [by_ref.correlate(None), by_ident.correlate(None)]


async def consent_keys(session: AsyncSession, policy: Policy, members: Sequence[Ref],
                       related: Sequence[Ref], identifiers: Sequence[tuple[str, str]],
                       patients: Sequence[str] | None) -> list[tuple[int, int]]:
    """(pk, version) of current Consents naming the actor (of `patients` only, unless None)."""
    key = (id(policy), tuple(members), tuple(related), tuple(identifiers))
    if patients is None:  # every one: driven by the actor's references
        stmt = memo(policy, ("all-consents", *key), lambda: select(R.pk, R.version_id).where(
            or_(*(R.pk.in_(n) for n in _naming(policy, members, related, identifiers))),
            R.deleted == false()))
        rows = list((await session.execute(stmt)).all())
    else:  # a few patients: driven by their Consents, each checked for naming the actor
        stmt = memo(policy, ("consents", *key), lambda: _consents_of_stmt(
            policy, members, related, identifiers))
        rows = [r for chunk in chunked(patients)
                for r in (await session.execute(stmt, {"patients": chunk})).all()]
    return sorted({(int(pk), int(v)) for pk, v in rows})


def _consents_of_stmt(policy: Policy, members: Sequence[Ref], related: Sequence[Ref],
                      identifiers: Sequence[tuple[str, str]]) -> Any:
    """(pk, version) of the Consents of the bound `patients` that name the actor."""
    c = _alias(ReferenceIndex)
    return select(R.pk, R.version_id).join(c, c.res_pk == R.pk).where(
        c.res_type == "Consent", c.param == policy.compartment["Consent"][0],
        c.target_type == "Patient", c.target_id.in_(bindparam("patients", expanding=True)),
        R.deleted == false(), _names_actor(policy, R.pk, members, related, identifiers))


async def contents_by_pk(session: AsyncSession, pks: Sequence[int]) -> dict[int, tuple[int, bytes]]:
    """pk -> (version, content) of current resources."""
    out: dict[int, tuple[int, bytes]] = {}
    for chunk in _chunks(list(pks)):
        rows = await session.execute(select(R.pk, R.version_id, R.content).where(
            R.pk.in_(list(chunk)), R.deleted == false()))
        out.update({int(pk): (int(v), c) for pk, v, c in rows.all() if c})
    return out


async def teams_among(session: AsyncSession, policy: Policy, members: Sequence[Ref],
                      team_ids: Sequence[str]) -> set[str]:
    """Which of `team_ids` are active CareTeams the members belong to."""
    if not members or not team_ids:
        return set()
    stmt = memo(policy, ("teams", id(policy), tuple(members)), lambda: _teams_stmt(policy, members))
    out: set[str] = set()
    for chunk in chunked(sorted(set(team_ids))):
        out |= {r[0] for r in (await session.execute(stmt, {"teams": chunk})).all()}
    return out


def _teams_stmt(policy: Policy, members: Sequence[Ref]) -> Any:
    """ids of the bound `teams` that are active CareTeams with a member among `members`."""
    return select(R.res_id).where(
        R.res_type == "CareTeam", R.res_id.in_(bindparam("teams", expanding=True)),
        *_active_membership(policy, R.pk, members))


def _active_membership(policy: Policy, team_pk: Any, members: Sequence[Ref]) -> list[Any]:
    """The CareTeam at `team_pk` has one of `members` as participant and an active status."""
    m, s = _alias(ReferenceIndex), _alias(TokenIndex)
    return [exists().where(m.res_pk == team_pk, m.param.in_(TEAM_PARAMS), _targets(m, members)),
            exists().where(s.res_pk == team_pk, s.param == "status",
                           _in(s.value, _care_rule_list(policy, "careTeamStatus")))]


async def version_contents(session: AsyncSession, pk: int) -> list[bytes]:
    """The newest stored content of a resource's versions (deletes skipped)."""
    rows = await session.execute(
        select(VersionRow.content).where(VersionRow.res_pk == pk, VersionRow.content.is_not(None))
        .order_by(VersionRow.version_id.desc()).limit(1))
    return [r[0] for r in rows.all() if r[0] is not None]


# -- the visibility clause ---------------------------------------------------------------------


_RES_T = cast(Table, ResourceRow.__table__)
_REF_T = cast(Table, ReferenceIndex.__table__)


def owner_in(policy: Policy, res_type: str, pk: Any, ids: Sequence[str] | Select[Any]) -> Any:
    """Rows of `res_type` whose owning Patient is one of `ids` (list or id subquery)."""
    spec = policy.compartment[res_type]
    # A list needs no alias (none nests inside, and correlate(None) keeps the subquery closed);
    # an alias costs more to build than the query costs to run.
    plain = not isinstance(ids, Select)
    if spec[0] == "_self":
        r = _RES_T.c if plain else _alias(ResourceRow)
        return pk.in_(select(r.pk).where(r.res_type == "Patient", _in(r.res_id, ids))
                      .correlate(None))
    ref = _REF_T.c if plain else _alias(ReferenceIndex)
    return pk.in_(select(ref.res_pk).where(ref.res_type == res_type, ref.param == spec[0],
                                           ref.target_type == "Patient", _in(ref.target_id, ids))
                  .correlate(None))


def owned(policy: Policy, res_type: str, pk: Any) -> Any:
    """Rows of `res_type` that have an owning Patient at all."""
    spec = policy.compartment[res_type]
    if spec[0] == "_self":
        return true()
    ref = _alias(ReferenceIndex)
    return pk.in_(select(ref.res_pk).where(ref.res_type == res_type, ref.param == spec[0],
                                           ref.target_type == "Patient").correlate(None))


def _has_codings(res_type: str, param: str, pk: Any, codings: Iterable[tuple[str, str]]) -> Any:
    """Rows with a token (system, code) among `codings` ('' system means none)."""
    tok = _alias(TokenIndex)
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
        r = _alias(ResourceRow)
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


Named = tuple[tuple[Ref, ...], tuple[Ref, ...], tuple[tuple[str, str], ...]]


def visibility(
    policy: Policy, res_type: str, pk: Any, groups: Sequence[tuple[E.Expr, Sequence[str]]],
    self_ids: Sequence[str], care_members: Sequence[Ref], emergency: E.Expr,
    loaded: Sequence[str], named: Named | None, emergency_ids: Iterable[str] | None = None,
    lookup: Iterable[tuple[str, str]] = (), loaded_unnamed: Sequence[str] = (),
) -> Any:
    """OR of the per-group rules of loaded patients and, for the others, self/care/emergency."""
    # `named` (the actor's references; None when every patient naming the actor is loaded)
    # keeps rows of patients whose Consents name the actor but were not loaded out of the
    # default branch: they match nothing (fail closed). Parts that depend only on the actor
    # are built once (memo); the loaded patients' parts per call.
    ems = None if emergency_ids is None else tuple(sorted(emergency_ids))
    rest, unnamed = memo(policy, ("rest", id(policy), res_type, pk, tuple(self_ids),
                                  tuple(care_members), emergency, named, ems),
                         lambda: _rest(policy, res_type, pk, self_ids, care_members, emergency,
                                       named, ems))
    terms = [and_(owner_in(policy, res_type, pk, ids), compile_expr(policy, res_type, pk, e))
             for e, ids in groups if e != E.FALSE]
    outside = [~owner_in(policy, res_type, pk, loaded)] if loaded else []
    if unnamed is not None:
        outside.append(unnamed)
    if rest is not None:
        terms.append(and_(*outside, rest))
    if lookup:  # a registering service looking a patient up by national identifier
        fresh = and_(true(), *outside)
        if loaded_unnamed:
            fresh = or_(owner_in(policy, res_type, pk, loaded_unnamed), fresh)
        terms.append(and_(_has_codings("Patient", "identifier", pk, lookup), fresh))
    return or_(false(), *terms)


def _rest(policy: Policy, res_type: str, pk: Any, self_ids: Sequence[str],
          care_members: Sequence[Ref], emergency: E.Expr, named: Named | None,
          emergency_ids: Sequence[str] | None) -> tuple[Any | None, Any | None]:
    """(self OR care OR emergency, NOT owner-named) for rows of patients not loaded."""
    rest = []
    if self_ids:
        rest.append(owner_in(policy, res_type, pk, self_ids))
    if care_members:
        rest.append(owner_in(policy, res_type, pk, care_patients(policy, care_members)))
    if emergency != E.FALSE:
        whose = (owned(policy, res_type, pk) if emergency_ids is None
                 else owner_in(policy, res_type, pk, emergency_ids))
        rest.append(and_(whose, compile_expr(policy, res_type, pk, emergency)))
    unnamed = None if named is None else ~owner_named(policy, res_type, pk, *named)
    return (or_(*rest) if rest else None), unnamed


_GUARD = _alias(ResourceRow)
GUARD_PK: Any = _GUARD.pk  # a stable pk column: clauses built on it are memoised


def guarded(pk: Any, clause: Any) -> Any:
    """A clause built on GUARD_PK, tested for the row at `pk` (correlated, one pk lookup)."""
    return exists().where(pk == GUARD_PK, clause).correlate_except(_GUARD.__clause_element__())


async def careplans_of(session: AsyncSession, patient: str) -> list[dict[str, Any]]:
    """The patient's current CarePlans (for $access explanations)."""
    ref = _alias(ReferenceIndex)
    sub = select(ref.res_pk).where(ref.res_type == "CarePlan", ref.param == "patient",
                                   ref.target_type == "Patient", ref.target_id == patient)
    return await _contents(session, sub)
