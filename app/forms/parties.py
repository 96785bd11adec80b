"""People, services and dates as a Norwegian reader expects them (plain text, escaped by callers)."""

from __future__ import annotations

import re
from typing import Any

DUTIES_HEADING = "Ansvar per tjeneste:"
_DUTY_LINE = re.compile(r"^- (?P<name>.+?): (?P<duty>.*)$")
TELECOM_NB = {"phone": "tlf.", "sms": "sms", "email": "e-post"}


def date_nb(value: object) -> str:
    """'2027-05-01' as '01.05.2027' (partial dates keep their precision; times are dropped)."""
    s = str(value)
    parts = s[:10].split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[2]}.{parts[1]}.{parts[0]}"
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return f"{parts[1]}.{parts[0]}"
    return s


def period_nb(period: dict[str, Any]) -> str:
    """A Period as 'fra 15.11.2026 til 15.05.2027'."""
    out = []
    if period.get("start"):
        out.append(f"fra {date_nb(period['start'])}")
    if period.get("end"):
        out.append(f"til {date_nb(period['end'])}")
    return " ".join(out)


def human_name(names: list[dict[str, Any]]) -> str:
    """The first name as 'Given Family' (or its text)."""
    for name in names or []:
        if name.get("text"):
            return str(name["text"])
        parts = [*(name.get("given") or []), name.get("family") or ""]
        joined = " ".join(str(p) for p in parts if p)
        if joined:
            return joined
    return ""


def contained(careplan: dict[str, Any], reference: str) -> dict[str, Any] | None:
    """The contained resource a '#id' reference points at."""
    if not reference.startswith("#"):
        return None
    return next((c for c in careplan.get("contained") or [] if c.get("id") == reference[1:]), None)


def telecoms(resource: dict[str, Any]) -> list[str]:
    """'tlf. 900 00 002' for each phone, sms or e-mail contact point."""
    out = []
    for cp in resource.get("telecom") or []:
        if cp.get("value") and cp.get("system", "phone") in TELECOM_NB:
            out.append(f"{TELECOM_NB[cp.get('system', 'phone')]} {cp['value']}")
    return out


def relation(resource: dict[str, Any]) -> str:
    """A RelatedPerson's relationship in words (display or text), lower case."""
    for rel in resource.get("relationship") or []:
        label = rel.get("text") or next(
            (c.get("display") for c in rel.get("coding") or [] if c.get("display")), None
        )
        if label:
            return str(label).lower()
    return ""


def describe(ref: dict[str, Any], careplan: dict[str, Any]) -> str:
    """A reference as 'Per Nordmann (bror), tlf. +47 900 00 002' (contained details are resolved)."""
    res = contained(careplan, str(ref.get("reference") or ""))
    if res is None:
        return str(ref.get("display") or ref.get("reference") or "Ukjent")
    name = (
        str(res.get("name") or "") if isinstance(res.get("name"), str) else human_name(res.get("name") or [])
    )
    label = name or str(ref.get("display") or "Ukjent")
    rel = relation(res)
    phones = telecoms(res)
    return label + (f" ({rel})" if rel else "") + (", " + ", ".join(phones) if phones else "")


def compose_duties(text: str, duties: list[tuple[str, str]]) -> str:
    """The tjenesteansvar description: the shared text, then one line per service.

    A duty's own line breaks are kept as indented continuation lines, so split_duties can undo it.
    """
    lines = [f"- {name}: " + duty.replace("\n", "\n  ") for name, duty in duties if duty]
    return text if not lines else f"{text}\n\n{DUTIES_HEADING}\n" + "\n".join(lines)


def split_duties(description: str, names: list[str] | None = None) -> tuple[str, list[tuple[str, str]]]:
    """Undo compose_duties: (shared text, [(service name, duty)] in order); `names` resolves ': ' in names."""
    head, sep, tail = description.rpartition(f"\n\n{DUTIES_HEADING}\n")
    if not sep:
        return description, []
    duties: list[tuple[str, str]] = []
    by_length = sorted(set(names or []), key=len, reverse=True)
    for line in tail.split("\n"):
        if duties and line.startswith("  "):
            duties[-1] = (duties[-1][0], duties[-1][1] + "\n" + line[2:])
        elif (found := _duty_line(line, by_length)) is not None:
            duties.append(found)
    return head, duties


def _duty_line(line: str, names: list[str]) -> tuple[str, str] | None:
    """(name, duty) of a '- name: duty' line, known names first (longest match)."""
    for name in names:
        if line.startswith(f"- {name}: "):
            return name, line[len(name) + 4 :]
    m = _DUTY_LINE.match(line)
    return (str(m.group("name")), str(m.group("duty"))) if m else None


def assign_duties(names: list[str], duties: list[tuple[str, str]]) -> list[str | None]:
    """Each service's duty: the first unused line with its name (so repeated names keep their order)."""
    out: list[str | None] = []
    rest = list(duties)
    for name in names:
        index = next((i for i, (n, _) in enumerate(rest) if n == name), None)
        out.append(rest.pop(index)[1] if index is not None else None)
    return out
