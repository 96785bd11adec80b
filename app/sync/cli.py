"""`fellesplan sync push|pull`: exchange plans with another FHIR R4 server (docs/sync.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import click

from app.config import get_settings


def _remote(url: str, token: str | None, token_url: str | None, client_id: str | None,
            client_secret: str | None, scope: str | None) -> Any:
    """The remote server with its authentication."""
    from app.sync.remote import ClientCredentials, Remote

    if token_url or client_id:
        if not (token_url and client_id and client_secret):
            raise click.UsageError("client credentials need --token-url, --client-id and --client-secret")
        return Remote(url, credentials=ClientCredentials(token_url, client_id, client_secret, scope))
    return Remote(url, token=token)


def _auth_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Bearer token or OAuth2 client credentials (secrets also from the environment)."""
    for option in reversed([
        click.option("--token", envvar="FELLESPLAN_SYNC_TOKEN", help="Bearer token for the remote."),
        click.option("--token-url", envvar="FELLESPLAN_SYNC_TOKEN_URL", help="OAuth2 token endpoint."),
        click.option("--client-id", envvar="FELLESPLAN_SYNC_CLIENT_ID"),
        click.option("--client-secret", envvar="FELLESPLAN_SYNC_CLIENT_SECRET"),
        click.option("--scope", envvar="FELLESPLAN_SYNC_SCOPE"),
    ]):
        fn = option(fn)
    return fn


async def _run(make: Callable[[Any, Any], Awaitable[Any]], remote: Any) -> Any:
    """Run one sync against the configured database, closing everything afterwards."""
    from app.db.engine import Database

    db = Database(get_settings())
    try:
        return await make(db, remote)
    finally:
        await remote.close()
        await db.dispose()


def register(cli: click.Group) -> None:
    """Add `sync push` and `sync pull`."""

    @cli.group()
    def sync() -> None:
        """Push plans to, or pull plans from, another FHIR R4 server (e.g. an EHR's HAPI FHIR)."""

    @sync.command("push")
    @click.option("--target", required=True, help="FHIR base URL of the receiving server.")
    @_auth_options
    def push(target: str, **auth: str | None) -> None:
        """Send changed plans and what they reference (resumes from the last checkpoint)."""
        from app.sync.push import PushService

        report = asyncio.run(_run(lambda db, r: PushService(db, r).run(), _remote(target, **auth)))
        click.echo(report.summary())
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(1 if report.errors else 0)

    @sync.command("pull")
    @click.option("--source", required=True, help="FHIR base URL of the server to import from.")
    @_auth_options
    def pull(source: str, **auth: str | None) -> None:
        """Import plans changed at the source; conflicts are reported, never overwritten."""
        from app.sync.pull import PullService

        report = asyncio.run(_run(lambda db, r: PullService(db, r).run(), _remote(source, **auth)))
        click.echo(report.summary())
        for conflict in report.conflicts:
            click.echo(f"conflict: {conflict}", err=True)
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(1 if report.errors else 2 if report.conflicts else 0)
