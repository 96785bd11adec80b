"""CLI commands of the validator: `fellesplan validate FILE... [--profile URL]`."""

from __future__ import annotations

from pathlib import Path

import click
import orjson


def register(cli: click.Group) -> None:
    """Add the validation commands to the main CLI group."""

    @cli.command("validate")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
    @click.option("--profile", default=None, help="Validate against this profile URL only.")
    def validate(paths: tuple[Path, ...], profile: str | None) -> None:
        """Validate FHIR JSON files as a write would, printing every issue."""
        from app.validation.hook import validate_resource

        failed = False
        for path in paths:
            issues = validate_resource(orjson.loads(path.read_bytes()), profile=profile)
            errors = [i for i in issues if i.severity in ("error", "fatal")]
            failed |= bool(errors)
            click.echo(f"{path}: {'FAIL' if errors else 'ok'} ({len(issues)} issues)")
            for i in issues:
                click.echo(f"  {i.severity:<8} {','.join(i.expression) or '-'}: {i.diagnostics}")
        if failed:
            raise SystemExit(1)
