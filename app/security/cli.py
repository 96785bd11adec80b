"""Security commands: `fellesplan token`, `fellesplan dev-tokens`, `fellesplan audit verify`."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from app.config import get_settings

ADMIN_SCOPES = ("fellesplan/admin", "user/*.cruds")
AUDIT_SCOPES = ("fellesplan/audit",)
DEMO_HPR = "565501872"  # a made-up HPR number for development tokens


def register(cli: click.Group) -> None:
    """Add the security commands to the `fellesplan` group."""
    cli.add_command(token)
    cli.add_command(dev_tokens)
    cli.add_command(audit)


@click.command()
@click.option("--pid", help="FNR/DNR (helseid://claims/identity/pid).")
@click.option("--hpr", help="HPR-nummer (health personnel).")
@click.option("--org", help="Organisasjonsnummer acted for (orgnr_child).")
@click.option("--org-parent", help="Legal entity (orgnr_parent); defaults to --org.")
@click.option("--scope", "scopes", multiple=True, help="A scope (repeat, or space-separated).")
@click.option("--purpose", help="purpose_of_use (TREAT, ETREAT, COC, BTG).")
@click.option("--name", help="Display name of the person.")
@click.option("--ttl", default=3600, show_default=True, help="Lifetime in seconds.")
def token(pid: str | None, hpr: str | None, org: str | None, org_parent: str | None,
          scopes: tuple[str, ...], purpose: str | None, name: str | None, ttl: int) -> None:
    """Mint a development access token signed with the local key (never in production)."""
    from app.security.devkeys import DEFAULT_SCOPES, mint_dev_token

    wanted = tuple(s for group in scopes for s in group.split()) or DEFAULT_SCOPES
    try:
        click.echo(mint_dev_token(pid, hpr, org, wanted, purpose, name=name,
                                  org_parent=org_parent, ttl=ttl))
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("dev-tokens")
@click.option("--ttl", default=12 * 3600, show_default=True, help="Lifetime in seconds.")
def dev_tokens(ttl: int) -> None:
    """Create/trust the local signing key and print ready-to-use tokens for the demo data."""
    from app.security.devkeys import mint_dev_token

    settings = get_settings()
    try:
        rows = [("admin", mint_dev_token(scopes=ADMIN_SCOPES, name="Demo admin", ttl=ttl)),
                ("tilsyn (audit)", mint_dev_token(scopes=AUDIT_SCOPES, ttl=ttl))]
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    orgs, persons = asyncio.run(_demo_actors())
    for orgnr, name, kind in orgs:
        tok = mint_dev_token(hpr=DEMO_HPR, pid="01017000000", org=orgnr, ttl=ttl,
                             scopes=("user/*.cruds",), purpose="TREAT", name="Demo Helsepersonell")
        rows.append((f"helsepersonell ved {name} ({kind}, {orgnr})", tok))
    for pid, label in persons:
        tok = mint_dev_token(pid=pid, ttl=ttl, scopes=("patient/*.rs",), name=label)
        rows.append((f"innbygger {label} (leser egen tilgangslogg: GET /fhir/AuditEvent)", tok))
    click.echo(f"Signing key: {settings.dev_key_file} (trusted while FELLESPLAN_ENV != production;"
               f" start the server with FELLESPLAN_AUTH_ENABLED=true)")
    for label, tok in rows:
        click.echo(f"\n# {label}\nAuthorization: Bearer {tok}")


async def _demo_actors() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Registered organisations with a service type, and a few patients with an FNR/DNR."""
    from app.db.engine import Database
    from app.repository.actors import organizations, some_patients
    from app.security.actors import ORGNR_SYSTEM, PERSON_SYSTEMS, service_type_of
    from app.services.context import SYSTEM

    db = Database(get_settings())
    orgs: list[tuple[str, str, str]] = []
    persons: list[tuple[str, str]] = []
    try:
        async with db.session(write=False) as session:
            for org in await organizations(session, SYSTEM):
                kind, ids = service_type_of(org), _ids(org, (ORGNR_SYSTEM,))
                if kind and ids:
                    orgs.append((ids[0], str(org.get("name") or ""), kind))
            for pat in await some_patients(session, SYSTEM, 3):
                ids = _ids(pat, PERSON_SYSTEMS)
                if ids:
                    persons.append((ids[0], f"Patient/{pat.get('id')}"))
    except Exception as exc:  # no database yet: tokens for admin/audit still help
        click.echo(f"(no demo actors read: {type(exc).__name__})", err=True)
    finally:
        await db.dispose()
    return orgs[:12], persons


def _ids(resource: dict[str, Any], systems: tuple[str, ...]) -> list[str]:
    """Identifier values of the given systems."""
    return [str(i["value"]) for i in resource.get("identifier") or ()
            if i.get("system") in systems and i.get("value")]


@click.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option("--anchor", help="A head exported earlier, '<seq>:<hash>', that must still hold.")
def audit_verify(anchor: str | None) -> None:
    """Verify the audit hash chain; exit 1 and name the first broken link."""
    from app.security.verify import parse_anchor

    try:
        expected = parse_anchor(anchor) if anchor else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--anchor") from None
    report = asyncio.run(_verify(expected))
    if report.broken is None:
        click.echo(f"Audit log intact: {report.events} events. "
                   f"Anchor (export it): {report.head_seq}:{report.head_hash}")
        return
    click.echo(f"Audit log BROKEN at seq {report.broken.seq}: {report.broken.reason} "
               f"({report.events} events read, head at seq {report.head_seq}).", err=True)
    raise SystemExit(1)


async def _verify(anchor: tuple[int, str] | None) -> Any:
    """Run the verification on the configured database."""
    from app.db.engine import Database
    from app.security.verify import verify_chain

    db = Database(get_settings())
    try:
        async with db.session(write=False) as session:
            return await verify_chain(session, anchor)
    finally:
        await db.dispose()
