"""`fellesplan worker`: deliver subscription notifications apart from the API processes."""

from __future__ import annotations

import asyncio
import logging

import click

from app.config import get_settings


def register(cli: click.Group) -> None:
    """Add the worker command to the `fellesplan` group."""

    @cli.command("worker")
    def worker() -> None:
        """Deliver subscription notifications (several workers may share one PostgreSQL)."""
        from app.db.engine import Database
        from app.subscriptions.runner import run_foreground

        settings = get_settings()
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        click.echo("Fellesplan subscription worker; stop with Ctrl-C.")
        asyncio.run(run_foreground(Database(settings)))
