"""`fellesplan reindex`: rebuild search index rows, e.g. after a SearchParameter was added."""

from __future__ import annotations

import asyncio

import click

from app.config import Settings, get_settings

BATCH = 500


async def reindex(settings: Settings, res_type: str | None = None,
                  echo: bool = False) -> int:
    """Re-extract the index rows of every live resource (one transaction per batch)."""
    from app.db.engine import Database
    from app.repository.search.reindex import live_batch
    from app.search.refs import set_local_base

    set_local_base(settings.base)
    db = Database(settings)
    done, after = 0, 0
    try:
        while True:
            async with db.session(write=True) as session:
                after, n = await live_batch(session, res_type, after, BATCH)
            if n == 0:
                return done
            done += n
            if echo:
                click.echo(f"reindexed {done}")
    finally:
        await db.dispose()


def register(cli: click.Group) -> None:
    """Add the `reindex` command to the CLI."""

    @cli.command("reindex")
    @click.option("--type", "res_type", default=None, help="Only this resource type.")
    def reindex_cmd(res_type: str | None) -> None:
        """Rebuild the search indexes from stored resources (safe to run while serving)."""
        n = asyncio.run(reindex(get_settings(), res_type, echo=True))
        click.echo(f"Reindexed {n} resources.")
