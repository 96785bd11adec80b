"""Scopes and the start-phase policy: every interaction, every actor kind."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.fhir.errors import Forbidden
from app.security import hooks
from app.security.interactions import Interaction
from app.security.scopes import PERMISSION, allows, parse
from app.services.context import SYSTEM, ActorKind, RequestContext

IA = Interaction


def actor(kind: ActorKind, scopes: str = "", service_type: str | None = "legevakt",
          **kw: Any) -> RequestContext:
    """A context of the given kind."""
    return RequestContext(kind=kind, scopes=frozenset(scopes.split()), service_type=service_type,
                          **kw)


@pytest.mark.parametrize(
    ("scope", "context", "res_type", "perms"),
    [
        ("user/CarePlan.rs", "user", "CarePlan", "rs"),
        ("patient/*.rs", "patient", "*", "rs"),
        ("system/*.cruds", "system", "*", "cruds"),
        ("user/*.read", "user", "*", "rs"),
        ("user/Goal.write", "user", "Goal", "cud"),
        ("user/Consent.*", "user", "Consent", "cruds"),
        ("user/CarePlan.cu", "user", "CarePlan", "cu"),
    ],
)
def test_parse(scope: str, context: str, res_type: str, perms: str) -> None:
    g = parse(scope)
    assert g is not None
    assert (g.context, g.res_type, g.perms) == (context, res_type, frozenset(perms))


@pytest.mark.parametrize(
    "scope",
    ["user/CarePlan.sr", "user/CarePlan.", "user/carePlan.rs", "other/CarePlan.rs",
     "user/CarePlan.rs?category=x", "openid", "fellesplan/admin", "user/*.rx", "user/*.readwrite"],
)
def test_parse_rejects(scope: str) -> None:
    assert parse(scope) is None


@settings(deadline=None)
@given(st.text(max_size=40))
def test_parse_never_raises(scope: str) -> None:
    g = parse(scope)
    assert g is None or g.perms <= frozenset("cruds")


@pytest.mark.parametrize(("interaction", "perm"), list(PERMISSION.items()))
def test_each_interaction_needs_its_permission(interaction: Interaction, perm: str) -> None:
    scopes = frozenset({f"user/CarePlan.{perm}"})
    assert allows(scopes, "CarePlan", perm)
    others = "".join(p for p in "cruds" if p != perm)
    ctx = actor(ActorKind.HEALTH, f"user/CarePlan.{others} user/Goal.{perm}")
    with pytest.raises(Forbidden):
        hooks.start(ctx, interaction, "CarePlan")
    hooks.start(actor(ActorKind.HEALTH, f"user/CarePlan.{perm}"), interaction, "CarePlan")


def test_wildcard_needed_for_system_wide_interactions() -> None:
    with pytest.raises(Forbidden):
        hooks.start(actor(ActorKind.HEALTH, "user/CarePlan.s"), IA.SEARCH_SYSTEM, None)
    hooks.start(actor(ActorKind.HEALTH, "user/*.s"), IA.SEARCH_SYSTEM, None)


@pytest.mark.parametrize("kind", [k for k in ActorKind if k not in (ActorKind.SYSTEM,
                                                                    ActorKind.OPEN)])
@pytest.mark.parametrize("res_type", ["Organization", "Practitioner", "PractitionerRole",
                                      "Questionnaire"])
def test_registry_readable_by_everyone_writable_by_admin(kind: ActorKind, res_type: str) -> None:
    ctx = actor(kind, "", service_type=None)
    for i in (IA.READ, IA.VREAD, IA.SEARCH_TYPE, IA.HISTORY_INSTANCE):
        hooks.start(ctx, i, res_type)
    for i in (IA.CREATE, IA.UPDATE, IA.PATCH, IA.DELETE):
        with pytest.raises(Forbidden):
            hooks.start(actor(kind, "user/*.cruds system/*.cruds"), i, res_type)
        hooks.start(actor(kind, "fellesplan/admin"), i, res_type)


@pytest.mark.parametrize("i", [IA.CREATE, IA.UPDATE, IA.PATCH, IA.DELETE])
@pytest.mark.parametrize("ctx", [actor(ActorKind.ADMIN, "fellesplan/admin system/*.cruds "
                                       "fellesplan/audit"), SYSTEM,
                                 RequestContext(kind=ActorKind.OPEN)])
def test_audit_event_never_writable(i: Interaction, ctx: RequestContext) -> None:
    with pytest.raises(Forbidden):
        hooks.start(ctx, i, "AuditEvent")


def test_audit_log_readers() -> None:
    hooks.start(actor(ActorKind.PERSON), IA.SEARCH_TYPE, "AuditEvent")
    hooks.start(actor(ActorKind.HEALTH, "fellesplan/audit"), IA.SEARCH_TYPE, "AuditEvent")
    for ctx in (actor(ActorKind.HEALTH, "user/*.cruds"), actor(ActorKind.ADMIN,
                "fellesplan/admin user/*.cruds"), actor(ActorKind.CLIENT, "system/*.cruds")):
        with pytest.raises(Forbidden):
            hooks.start(ctx, IA.SEARCH_TYPE, "AuditEvent")
        with pytest.raises(Forbidden):
            hooks.start(ctx, IA.READ, "AuditEvent")


@pytest.mark.parametrize("res_type", ["CarePlan", "Patient", "Consent", "QuestionnaireResponse",
                                      "CareTeam", "Goal", "RelatedPerson", "Provenance"])
def test_compartment_data_start_phase(res_type: str) -> None:
    # The start phase checks scopes and who may ask at all; consent (app/consent) then decides
    # per resource. Unregistered organisations and scope-less actors never get past it.
    full = "user/*.cruds system/*.cruds"
    hooks.start(actor(ActorKind.HEALTH, full), IA.READ, res_type)
    hooks.start(actor(ActorKind.CLIENT, full), IA.CREATE, res_type)
    hooks.start(actor(ActorKind.ADMIN, full, service_type=None), IA.READ, res_type)
    hooks.start(actor(ActorKind.PERSON, "patient/*.rs", service_type=None), IA.READ, res_type)
    for ctx in (actor(ActorKind.HEALTH, full, service_type=None),  # unknown organisation
                actor(ActorKind.CLIENT, full, service_type=None),
                actor(ActorKind.STAFF, full, service_type=None),
                actor(ActorKind.PERSON, "", service_type=None),
                actor(ActorKind.HEALTH, "fellesplan/audit fellesplan/admin")):
        with pytest.raises(Forbidden):
            hooks.start(ctx, IA.READ, res_type)


def test_untyped_interactions_pass_to_their_parts() -> None:
    ctx = actor(ActorKind.PERSON)
    for i in (IA.CAPABILITIES, IA.TRANSACTION, IA.BATCH):
        hooks.start(ctx, i, None)


def test_forbidden_names_interaction_not_data() -> None:
    with pytest.raises(Forbidden) as exc:
        hooks.start(actor(ActorKind.HEALTH, "user/Goal.rs"), IA.READ, "CarePlan")
    assert "read" in exc.value.diagnostics and exc.value.status == 403
