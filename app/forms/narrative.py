"""Generated bokmål narratives for CarePlans (Kriseplan, Individuell plan, any other plan).

A legevakt doctor must read the plan in seconds: the sections in the crisis plan's fixed order,
contacts with phone numbers, the responsible services and the review date. Rules:
https://hl7.org/fhir/R4/narrative.html (xhtml div, no scripts, forms or event attributes; txt-1/2).
"""

from __future__ import annotations

from typing import Any

from app.forms import parties
from app.forms.xhtml import el, lines, root, text

NARRATIVE_ID = "fellesplan-narrative"  # marks a narrative this server generated (regenerated on change)
VOLVEN_9602 = "urn:oid:2.16.578.1.12.4.1.1.9602"
PLANTYPE = "https://fellesplan.no/fhir/CodeSystem/plantype"
SEKSJON = "https://fellesplan.no/fhir/CodeSystem/kriseplan-seksjon"
IP_DOMENE = "https://fellesplan.no/fhir/CodeSystem/ip-domene"
EXT = "https://fellesplan.no/fhir/StructureDefinition/"
REDACTED = ("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "REDACTED")

# The crisis plan's fixed order (CodeSystem kriseplan-seksjon).
KRISEPLAN_SECTIONS: tuple[tuple[str, str], ...] = (
    ("tidlige-tegn", "Tidlige tegn"),
    ("egenmestring", "Egenmestring"),
    ("kontakter", "Kontakter i krise"),
    ("tjenesteansvar", "Tjenestenes ansvar"),
    ("parorende", "Pårørende"),
    ("barn-og-dyr", "Barn og dyr"),
    ("uonskede-tiltak", "Uønskede tiltak"),
    ("voldsrisiko", "Voldsrisiko"),
)
OPTIONAL_SECTIONS = frozenset({"voldsrisiko"})
IP_DOMAINS: tuple[tuple[str, str], ...] = (
    ("helse", "Helse"),
    ("rus", "Rus"),
    ("psykisk-helse", "Psykisk helse"),
    ("somatisk-helse", "Somatisk helse"),
    ("bolig", "Bolig"),
    ("arbeid-aktivitet", "Arbeid og aktivitet"),
    ("okonomi", "Økonomi"),
    ("sosialt-nettverk", "Sosialt nettverk"),
    ("utdanning", "Utdanning"),
    ("annet", "Annet"),
)
STATUS_NB = {
    "draft": "utkast",
    "active": "aktiv",
    "on-hold": "satt på vent",
    "revoked": "tilbakekalt",
    "completed": "avsluttet",
    "entered-in-error": "registrert ved feil",
    "unknown": "ukjent",
}
_PEOPLE_HEADING = {"kontakter": "Kontakter", "tjenesteansvar": "Ansvarlige tjenester"}
REDACTION_NOTE = (
    "Skjermet innhold: deler av denne planen er skjermet for deg (pasientens samtykke "
    "eller taushetsplikt). Planen under er ikke fullstendig."
)


def plan_kind(careplan: dict[str, Any]) -> str:
    """'kriseplan', 'individuell-plan' or 'plan', from the category codes."""
    codes = {
        (c.get("system"), c.get("code"))
        for cat in careplan.get("category") or []
        for c in cat.get("coding") or []
    }
    if (VOLVEN_9602, "A01-2") in codes or (PLANTYPE, "kriseplan") in codes:
        return "kriseplan"
    if (VOLVEN_9602, "A02-2") in codes or (PLANTYPE, "individuell-plan") in codes:
        return "individuell-plan"
    return "plan"


def is_redacted(resource: dict[str, Any]) -> bool:
    """True when meta.security carries REDACTED (set by the consent engine)."""
    return any(
        (s.get("system"), s.get("code")) == REDACTED
        for s in (resource.get("meta") or {}).get("security") or []
    )


def render_careplan_narrative(careplan: dict[str, Any], *, redacted: bool) -> dict[str, Any]:
    """The Narrative (status generated) for a CarePlan; `redacted` marks content hidden from this reader."""
    kind = plan_kind(careplan)
    body = [el("p", el("b", text(REDACTION_NOTE)))] if redacted else []
    body += _header(careplan, kind)
    if kind == "kriseplan":
        body += _kriseplan_sections(careplan, redacted)
    else:
        body += _ip_parts(careplan) if kind == "individuell-plan" else []
        body += _activities_by(careplan, IP_DOMAINS if kind == "individuell-plan" else (), IP_DOMENE)
    return {"id": NARRATIVE_ID, "status": "generated", "div": root(*body)}


def ensure_narrative(resource_type: str, resource: dict[str, Any]) -> None:
    """Give a CarePlan a generated narrative when it has none (or has our own, now stale), in place."""
    if resource_type != "CarePlan":
        return
    current = resource.get("text")
    if isinstance(current, dict) and current.get("div") and current.get("id") != NARRATIVE_ID:
        return  # the client's own narrative is theirs to keep
    resource["text"] = render_careplan_narrative(resource, redacted=is_redacted(resource))


def _header(cp: dict[str, Any], kind: str) -> list[str]:
    """Title, patient, status, period and review date."""
    name = {"kriseplan": "Kriseplan", "individuell-plan": "Individuell plan"}.get(kind, "Plan")
    title = cp.get("title") or name
    who = (cp.get("subject") or {}).get("display")
    head = el("h2", text(title) + (text(f" – {who}") if who else ""))
    facts = [f"Type: {name}", f"Status: {STATUS_NB.get(str(cp.get('status')), str(cp.get('status')))}"]
    period = cp.get("period") or {}
    if period.get("start"):
        facts.append(
            f"Gjelder fra: {parties.date_nb(period['start'])}"
            + (f" til {parties.date_nb(period['end'])}" if period.get("end") else "")
        )
    review = _ext_value(cp, "revisjonsdato", "valueDate")
    facts.append(f"Revisjonsdato: {parties.date_nb(review)}" if review else "Revisjonsdato: ikke satt")
    return [head, el("p", "<br/>".join(text(f) for f in facts))]


def _kriseplan_sections(cp: dict[str, Any], redacted: bool) -> list[str]:
    """The sections in the fixed order; absent ones are marked (hidden for redacted readers)."""
    by_code = _activities_by_code(cp, SEKSJON)
    out: list[str] = []
    for code, label in KRISEPLAN_SECTIONS:
        found = by_code.pop(code, None)
        activity = found[0] if found else None
        if activity is None:
            if redacted:
                out += [el("h3", text(label)), el("p", el("i", "Skjermet for deg."))]
            elif code not in OPTIONAL_SECTIONS:
                out += [el("h3", text(label)), el("p", el("i", "Ikke utfylt."))]
            continue
        out += [el("h3", text(label)), *_activity(activity, cp, code)]
    for rest in by_code.values():
        for activity in rest:
            out += [el("h3", "Annet"), *_activity(activity, cp, "")]
    return out


def _activities_by(cp: dict[str, Any], order: tuple[tuple[str, str], ...], system: str) -> list[str]:
    """Activities grouped by a code system's order, then the rest."""
    by_code = _activities_by_code(cp, system)
    out: list[str] = []
    for code, label in order:
        for activity in by_code.pop(code, []):
            out += [el("h3", text(label)), *_activity(activity, cp, code)]
    for activity in (a for acts in by_code.values() for a in acts):
        label = _code_label(activity) or "Tiltak"
        out += [el("h3", text(label)), *_activity(activity, cp, "")]
    return out


def _activities_by_code(cp: dict[str, Any], system: str) -> dict[str, list[dict[str, Any]]]:
    """Activities keyed by their code in `system` ('' when they have none)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for activity in cp.get("activity") or []:
        codings = ((activity.get("detail") or {}).get("code") or {}).get("coding") or []
        code = next((str(c.get("code")) for c in codings if c.get("system") == system), "")
        out.setdefault(code, []).append(activity)
    return out


def _activity(activity: dict[str, Any], cp: dict[str, Any], section: str) -> list[str]:
    """One activity: its text, when, and who (contacts with phone numbers, services with duties)."""
    detail = activity.get("detail") or {}
    performers = detail.get("performer") or []
    description = str(detail.get("description") or "")
    duties: list[str | None] = [None] * len(performers)
    if section == "tjenesteansvar":
        names = [str(p.get("display") or "") for p in performers]
        description, pairs = parties.split_duties(description, names)
        duties = parties.assign_duties(names, pairs)
    out: list[str] = [el("p", lines(description))] if description else []
    period = detail.get("scheduledPeriod") or {}
    if period.get("start") or period.get("end"):
        out.append(el("p", text(f"Periode: {parties.period_nb(period)}")))
    people = [
        parties.describe(p, cp) + (f": {d}" if d else "") for p, d in zip(performers, duties, strict=True)
    ]
    if people:
        out.append(el("p", el("b", text(_PEOPLE_HEADING.get(section, "Ansvarlig") + ":"))))
        out.append(el("ul", *(el("li", lines(p)) for p in people)))
    return out


def _ip_parts(cp: dict[str, Any]) -> list[str]:
    """Coordinator, needs, resources and goals of an individual plan."""
    out: list[str] = []
    coordinator = _ext_value(cp, "koordinator", "valueReference")
    if isinstance(coordinator, dict):
        out.append(el("p", el("b", "Koordinator: ") + text(parties.describe(coordinator, cp))))
    for slug, label in (("ip-behov", "Behov"), ("ip-ressurser", "Ressurser")):
        value = _ext_value(cp, slug, "valueMarkdown")
        if value:
            out += [el("h3", text(label)), el("p", lines(str(value)))]
    goals = [parties.describe(g, cp) for g in cp.get("goal") or []]
    if goals:
        out += [el("h3", "Mål"), el("ul", *(el("li", text(g)) for g in goals))]
    return out


def _ext_value(cp: dict[str, Any], slug: str, key: str) -> Any:
    """The value of one of our extensions on the plan."""
    for ext in cp.get("extension") or []:
        if ext.get("url") == EXT + slug:
            return ext.get(key)
    return None


def _code_label(activity: dict[str, Any]) -> str:
    """The display or text of an activity's code."""
    code = (activity.get("detail") or {}).get("code") or {}
    return str(
        code.get("text")
        or next((c.get("display") for c in code.get("coding") or [] if c.get("display")), "")
        or ""
    )
