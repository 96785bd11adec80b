"""Apply Alembic migrations programmatically (the app never calls create_all)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def project_root() -> Path:
    """The folder holding alembic.ini and migrations/: the source tree, else the working dir."""
    source = Path(__file__).resolve().parents[2]
    for candidate in (source, Path.cwd()):
        if (candidate / "migrations" / "env.py").exists():
            return candidate
    raise FileNotFoundError("migrations/ not found next to the app or in the working directory")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at migrations/ and the given database URL."""
    root = project_root()
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at url to revision (blocking; run it outside an event loop)."""
    command.upgrade(alembic_config(url), revision)
