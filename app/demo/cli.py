"""`fellesplan demo`: load the demo data and print how to call the API (with development tokens)."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from app.config import Settings, get_settings
from app.demo.generator import DemoSet
from app.demo.load import load_demo

DEMO_PATIENTS = 25


def register(cli: click.Group) -> None:
    """Add the `demo` command to the `fellesplan` group."""
    cli.add_command(demo)


@click.command()
@click.option("--patients", default=DEMO_PATIENTS, show_default=True, help="Synthetic patients.")
@click.option("--seed", default=1, show_default=True, help="Generator seed (same seed, same data).")
def demo(patients: int, seed: int) -> None:
    """Load synthetic demo data (idempotent) and print example requests."""
    settings = get_settings()
    data = DemoSet(patients, seed)
    report = asyncio.run(load_demo(settings, data))
    click.echo(
        f"Demo data: {report.written} version(s) written, {report.skipped} already present "
        f"({patients} patients, seed {seed})."
    )
    click.echo(usage(settings, data))


def _tokens(settings: Settings, data: DemoSet) -> list[tuple[str, str]]:
    """(who, token) for a few demo actors, when development tokens are available."""
    try:
        from app.security.devkeys import mint_dev_token
    except ImportError:
        return []
    reg = data.regions[0]
    first = data.patient(0)
    actors: list[tuple[str, dict[str, Any]]] = []
    for unit, label in (("kommune", "koordinator i kommunen"), ("dps", "psykiater ved DPS")):
        person = reg.in_unit(unit)[0]
        actors.append(
            (
                f"{label}: {person.name}",
                {"hpr": person.hpr, "org": reg.orgnrs[unit], "name": person.name},
            )
        )
    nav = reg.in_unit("nav")[0]
    actors.append((f"NAV-veileder: {nav.name}", {"org": reg.orgnrs["nav"], "name": nav.name, "pid": None}))
    actors.append((f"pasient (FNR {first.fnr})", {"pid": first.fnr, "scopes": ("patient/*.rs",)}))
    out = []
    for who, kwargs in actors:
        try:
            out.append((who, mint_dev_token(settings=settings, **kwargs)))
        except Exception as exc:  # a refused dev key must not break loading the data
            out.append((who, f"(no token: {exc})"))
    return out


def usage(settings: Settings, data: DemoSet) -> str:
    """Example requests against the loaded data."""
    base = settings.base
    first = data.patient(0)
    krise, ip = first.plan_ids
    lines = [
        "",
        f"FHIR base: {base}   (CapabilityStatement: {base}/metadata)",
        f"  curl -s {base}/Patient/{first.patient_id}",
        f"  curl -s '{base}/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|{first.fnr}'",
        f"  curl -s '{base}/CarePlan?patient={first.patient_id}&category=A01-2&_include=CarePlan:care-team'",
        f"  curl -s {base}/CarePlan/{krise}/_history     # kriseplan, several versions",
        f"  curl -s {base}/CarePlan/{ip}                 # individuell plan",
        '  Updates of CarePlan and Consent need If-Match: W/"<versionId>".',
    ]
    tokens = _tokens(settings, data)
    if tokens:
        state = "on" if getattr(settings, "auth_enabled", False) else "off (FELLESPLAN_AUTH_ENABLED)"
        lines += [
            "",
            f"Development tokens (authentication is {state}); send as 'Authorization: Bearer <token>':",
        ]
        lines += [f"  {who}:\n    {token}" for who, token in tokens]
    return "\n".join(lines)
