"""The `fellesplan` command: serve, db upgrade, import, and the parts' own commands."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import click

from app.config import get_settings


@click.group()
def main() -> None:
    """Fellesplan: a FHIR R4 server for shared crisis plans and individual plans."""


@main.command()
@click.option("--host", default=None, help="Bind address (default FELLESPLAN_HOST).")
@click.option("--port", default=None, type=int, help="Port (default FELLESPLAN_PORT).")
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the FHIR API."""
    import uvicorn

    settings = get_settings()
    click.echo(f"Fellesplan FHIR base: {settings.base}  (CapabilityStatement: {settings.base}/metadata)")
    uvicorn.run("app.main:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_level=settings.log_level,
                access_log=False, proxy_headers=True)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations."""
    from app.db.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    click.echo(f"Database at revision {revision}.")


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_(paths: tuple[Path, ...]) -> None:
    """Load FHIR JSON files or Bundles (files or directories) through the API's write path."""
    from app.services.importer import run_import

    report = asyncio.run(run_import(list(paths), get_settings(), progress=True))
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


# The parts register their own commands (reindex; token, audit verify; demo).
for _module in ("app.search.cli", "app.security.cli", "app.validation.cli", "app.demo.cli",
                "app.subscriptions.cli", "app.sync.cli"):
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise
        continue
    _mod.register(main)


if __name__ == "__main__":
    main()
