"""`fellesplan validate FILE...` prints every issue and fails on errors."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from app.validation.cli import register

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"


def _cli() -> click.Group:
    @click.group()
    def cli() -> None:
        """Test group."""

    register(cli)
    return cli


def test_valid_file_passes_and_invalid_file_fails() -> None:
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["validate", str(EXAMPLES / "CarePlan-kriseplan-kari.json")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(_cli(), ["validate", str(EXAMPLES / "CarePlan-kriseplan-mangler-seksjon.json")])
    assert bad.exit_code == 1
    assert "kp-4" in bad.output and "FAIL" in bad.output
