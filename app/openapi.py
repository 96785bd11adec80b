"""Print the OpenAPI document (`python -m app.openapi > openapi/openapi.json`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from app.config import Settings


def document() -> dict[str, Any]:
    """The app's OpenAPI document, independent of local configuration."""
    from app.main import create_app

    spec: dict[str, Any] = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    return spec


def render() -> str:
    """The committed form: stable key order, two-space indent, trailing newline."""
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
