"""Short bokmål narratives for AuditEvents, written for the patient who reads their access log."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from html import escape
from zoneinfo import ZoneInfo

from app.security.interactions import Interaction
from app.services.context import ActorKind, RequestContext

OSLO = ZoneInfo("Europe/Oslo")

SERVICE_TYPE_NB = {
    "kommune": "kommunal helse- og omsorgstjeneste",
    "phv": "psykisk helsevern",
    "tsb": "tverrfaglig spesialisert rusbehandling (TSB)",
    "fastlege": "fastlege",
    "legevakt": "legevakt",
    "nav": "NAV",
    "annen": "annen tjeneste",
}
PURPOSE_NB = {
    "TREAT": "behandling",
    "ETREAT": "akutt behandling (nødtilgang)",
    "COC": "koordinering av tjenestene dine",
    "BTG": "nødtilgang («glassbrudd»)",
    "PATRQT": "din egen forespørsel",
    "HOPERAT": "drift av tjenesten",
    "HSYSADMIN": "systemadministrasjon",
}
TYPE_NB = {
    "CarePlan": "plan", "Patient": "personopplysninger", "Consent": "samtykke",
    "CareTeam": "ansvarsgruppe/team", "Goal": "mål", "QuestionnaireResponse": "skjemasvar",
    "RelatedPerson": "pårørendeopplysninger", "Provenance": "endringshistorikk",
    "AuditEvent": "tilgangslogg", "Subscription": "varslingsabonnement",
}
VERB_NB = {
    Interaction.READ: "åpnet", Interaction.VREAD: "åpnet en tidligere versjon av",
    Interaction.SEARCH_TYPE: "søkte og fikk se", Interaction.SEARCH_SYSTEM: "søkte og fikk se",
    Interaction.HISTORY_INSTANCE: "så historikken til",
    Interaction.HISTORY_TYPE: "så historikk for",
    Interaction.HISTORY_SYSTEM: "så historikk for", Interaction.CREATE: "opprettet",
    Interaction.UPDATE: "endret", Interaction.PATCH: "endret", Interaction.DELETE: "slettet",
    Interaction.OPERATION: "brukte en funksjon på",
}


def when(recorded: dt.datetime) -> str:
    """'22.11.2026 kl. 11.03' in Norwegian time (recorded is naive UTC)."""
    local = recorded.replace(tzinfo=dt.UTC).astimezone(OSLO)
    return local.strftime("%d.%m.%Y kl. %H.%M")


def who(ctx: RequestContext, patient: str | None) -> str:
    """The actor, as the patient would recognise them."""
    name = ctx.name
    if ctx.kind is ActorKind.PERSON:
        if patient and patient in ctx.patient_refs:
            return "Du"
        if ctx.related_person_refs:
            return f"{name or 'En person'} (pårørende)"
        return name or "En person"
    if ctx.kind is ActorKind.HEALTH:
        base = f"{name or 'Helsepersonell'} (HPR-nummer {ctx.hpr})"
    elif ctx.kind is ActorKind.CLIENT:
        base = f"Fagsystemet {ctx.client_id or 'ukjent'}"
    elif ctx.kind is ActorKind.ADMIN:
        base = f"Administrator {name or ctx.client_id or ''}".strip()
    elif ctx.kind is ActorKind.STAFF:
        base = f"{name or 'En ansatt'} (ansatt uten HPR-nummer)"
    else:
        return "Fellesplan (systemet selv)"
    return base + _org(ctx)


def _org(ctx: RequestContext) -> str:
    """' ved <organisation> (<service type>)', or nothing without an organisation."""
    if not ctx.org:
        return ""
    org = ctx.org_name or f"organisasjonsnummer {ctx.org}"
    kind = SERVICE_TYPE_NB.get(ctx.service_type or "", "ikke registrert tjeneste")
    return f" ved {org} ({kind})"


def what(types: list[str]) -> str:
    """'plan (2), samtykke' from the entity types."""
    counts = Counter(TYPE_NB.get(t, t) for t in types)
    return ", ".join(f"{k} ({n})" if n > 1 else k for k, n in sorted(counts.items()))


def render(ctx: RequestContext, interaction: Interaction, types: list[str], patient: str | None,
           recorded: dt.datetime, success: bool) -> str:
    """The XHTML narrative div of one AuditEvent."""
    verb = VERB_NB.get(interaction, "brukte")
    subject = f"opplysninger om deg: {what(types)}" if types else "opplysninger om deg, uten treff"
    lines = [f"{when(recorded)}: {who(ctx, patient)} {verb} {subject}."]
    purpose = ctx.purpose_of_use
    lines.append(f"Formål: {PURPOSE_NB.get(purpose or '', purpose or 'ikke oppgitt')}.")
    if not success:
        lines.append("Forsøket ble avvist, og ingen opplysninger ble vist.")
    if ctx.emergency:
        reason = ctx.break_glass_reason or "ikke oppgitt"
        lines.append(f"Dette var en nødtilgang. Begrunnelse: {reason}.")
    body = "".join(f"<p>{escape(line, quote=False)}</p>" for line in lines)
    return f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'
