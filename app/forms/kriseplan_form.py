"""How the kriseplan-skjema answers map to a Kriseplan, read from the Questionnaire's `definition`s.

Definition-based mapping (https://hl7.org/fhir/uv/sdc/extraction.html#definition-based-extraction):
an item's `definition` names a Kriseplan element (`...kriseplan#CarePlan.activity:kontakter.detail.
performer`). Items without a definition follow Fellesplan conventions by linkId suffix (`navn`,
`telefon`, `relasjon`, `ansvar`) or linkId (`barn-og-dyr.har`, `voldsrisiko.aktuelt`). This module
reads a stored plan back into answers ($populate); app/forms/extract.py goes the other way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.forms.narrative import SEKSJON
from app.forms.parties import assign_duties, contained, split_duties
from app.forms.patient_data import PatientData, party_name, party_phone

KRISEPLAN_URL = "https://fellesplan.no/fhir/StructureDefinition/kriseplan"
REVISJONSDATO_URL = "https://fellesplan.no/fhir/StructureDefinition/revisjonsdato"
FORM_URL = "https://fellesplan.no/fhir/Questionnaire/kriseplan-skjema"
VOLVEN_9033 = "urn:oid:2.16.578.1.12.4.1.1.9033"
NO_CHILDREN = "Ingen barn eller dyr som trenger tilsyn."
_ACTIVITY = re.compile(r"^CarePlan\.activity:(?P<slice>[a-z-]+)(?:\.(?P<rest>.+))?$")


@dataclass(frozen=True)
class Target:
    """What a Questionnaire item's definition points at."""

    kind: str  # start | review | section | description | performers | none
    section: str = ""


def target(item: dict[str, Any]) -> Target:
    """Parse an item's definition into a mapping target."""
    definition = str(item.get("definition") or "")
    url, _, path = definition.partition("#")
    if url == REVISJONSDATO_URL and path == "Extension.value[x]":
        return Target("review")
    if url != KRISEPLAN_URL:
        return Target("none")
    if path == "CarePlan.period.start":
        return Target("start")
    m = _ACTIVITY.match(path)
    if m is None:
        return Target("none")
    rest = m.group("rest")
    kind = {None: "section", "detail.description": "description", "detail.performer": "performers"}
    return Target(kind.get(rest, "none"), m.group("slice"))


def suffix(link_id: str) -> str:
    """The last dot-separated part of a linkId ('kontakter.kontakt.navn' -> 'navn')."""
    return link_id.rsplit(".", 1)[-1]


def section_activity(plan: dict[str, Any] | None, section: str) -> dict[str, Any] | None:
    """The plan's activity for one section."""
    for activity in (plan or {}).get("activity") or []:
        codings = ((activity.get("detail") or {}).get("code") or {}).get("coding") or []
        if any(c.get("system") == SEKSJON and c.get("code") == section for c in codings):
            return dict(activity)
    return None


class PlanSource:
    """Answers read back from the patient's current Kriseplan (or their contacts when there is none)."""

    def __init__(self, data: PatientData) -> None:
        self.data = data
        self.plan = data.kriseplan

    def answers(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """Answers for one question item (empty when the plan says nothing)."""
        t, link = target(item), str(item.get("linkId"))
        if self.plan is None:
            return []
        if t.kind == "start" and (self.plan.get("period") or {}).get("start"):
            return [{"valueDate": self.plan["period"]["start"][:10]}]
        if t.kind == "review":
            value = next(
                (
                    e.get("valueDate")
                    for e in self.plan.get("extension") or []
                    if e.get("url") == REVISJONSDATO_URL
                ),
                None,
            )
            return [{"valueDate": value}] if value else []
        if t.kind == "description":
            return self._description(t.section)
        if link == "barn-og-dyr.har":
            text = self._text("barn-og-dyr")
            return [] if text is None else [{"valueBoolean": text != NO_CHILDREN}]
        if link == "voldsrisiko.aktuelt":
            return [{"valueBoolean": section_activity(self.plan, "voldsrisiko") is not None}]
        return []

    def _text(self, section: str) -> str | None:
        """A section's description."""
        activity = section_activity(self.plan, section)
        value = ((activity or {}).get("detail") or {}).get("description")
        return str(value) if value is not None else None

    def _description(self, section: str) -> list[dict[str, Any]]:
        """The free text of a section (without the generated parts)."""
        text = self._text(section)
        if text is None or (section == "barn-og-dyr" and text == NO_CHILDREN):
            return []
        if section == "tjenesteansvar":
            text = split_duties(text)[0]
        return [{"valueString": text}]

    def instances(self, item: dict[str, Any]) -> list[dict[str, list[dict[str, Any]]]] | None:
        """Answers per instance of a repeating performer group; None when not such a group."""
        t = target(item)
        if t.kind != "performers":
            return None
        if self.plan is None:
            return self._from_directory(t.section)
        activity = section_activity(self.plan, t.section) or {}
        performers = (activity.get("detail") or {}).get("performer") or []
        # Duties are written under the name as typed in the form, which is the reference's display.
        names = [str(p.get("display") or "") for p in performers]
        duties = split_duties(str((activity.get("detail") or {}).get("description") or ""), names)[1]
        return [self._performer(p, d) for p, d in zip(performers, assign_duties(names, duties), strict=True)]

    def _performer(self, ref: dict[str, Any], duty: str | None) -> dict[str, list[dict[str, Any]]]:
        """One performer as answers by child suffix."""
        res = contained(self.plan or {}, str(ref.get("reference") or "")) or self.data.parties.get(
            str(ref.get("reference") or "")
        )
        name = (party_name(res) if res else "") or str(ref.get("display") or "")
        return _party_answers(name, res or {}, duty)

    def _from_directory(self, section: str) -> list[dict[str, list[dict[str, Any]]]]:
        """Without a plan: next of kin as contacts, the care teams' services as responsible."""
        if section == "kontakter":
            return [_party_answers(party_name(p), p, None) for p in self.data.related_persons]
        if section != "tjenesteansvar":
            return []
        out = []
        for team in self.data.care_teams:
            for participant in team.get("participant") or []:
                ref = str((participant.get("member") or {}).get("reference") or "")
                res = self.data.parties.get(ref)
                if ref.startswith("Organization/") and res is not None:
                    out.append(_party_answers(party_name(res), res, None))
        return out


def _party_answers(name: str, res: dict[str, Any], duty: str | None) -> dict[str, list[dict[str, Any]]]:
    """Answers keyed by linkId suffix for one person or service."""
    out: dict[str, list[dict[str, Any]]] = {"navn": [{"valueString": name}] if name else []}
    phone = party_phone(res)
    out["telefon"] = [{"valueString": phone}] if phone else []
    coding = next(
        (
            c
            for rel in res.get("relationship") or []
            for c in rel.get("coding") or []
            if c.get("system") == VOLVEN_9033
        ),
        None,
    )
    out["relasjon"] = [{"valueCoding": coding}] if coding else []
    out["ansvar"] = [{"valueString": duty}] if duty else []
    return out
