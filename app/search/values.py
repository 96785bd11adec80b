"""Parse one search value by parameter type (https://hl7.org/fhir/R4/search.html#ptypes).

A malformed value raises BadRequest naming the parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from app.fhir.errors import BadRequest
from app.search.normalize import date_range, norm_string, number_range
from app.search.refs import parse_reference

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_PREFIX_RE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$", re.S)


@dataclass(frozen=True, slots=True)
class TokenValue:
    """system None = any system; "" = no system. code None = any code in the system."""

    system: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class DateValue:
    """A prefixed date; [lo, hi] is the inclusive range implied by its precision."""

    prefix: str
    lo: dt.datetime
    hi: dt.datetime


@dataclass(frozen=True, slots=True)
class NumberValue:
    """A prefixed number or quantity; [lo, hi) is the range implied by significant digits."""

    prefix: str
    value: float
    lo: float
    hi: float
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class RefValue:
    """A local target (type may be None: any allowed type) or an absolute/canonical URL."""

    type: str | None
    id: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class CompositeValue:
    """Two components joined with `$`."""

    first: TokenValue
    second: TokenValue | NumberValue


def bad(name: str, message: str) -> BadRequest:
    """A 400 that names the search parameter."""
    return BadRequest(f"Search parameter '{name}': {message}")


def unescape_split(raw: str, sep: str) -> list[str]:
    """Split on `sep` honouring the `\\` escape (https://hl7.org/fhir/R4/search.html#escaping)."""
    out, cur, i = [], [], 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            cur.append(raw[i + 1])
            i += 2
            continue
        if c == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def token(name: str, raw: str) -> TokenValue:
    """`code`, `system|code`, `|code`, `system|`."""
    parts = raw.split("|", 1)
    if len(parts) == 1:
        if not raw:
            raise bad(name, "empty token")
        return TokenValue(None, raw)
    system, code = parts
    if not system and not code:
        raise bad(name, "empty token")
    return TokenValue(system, code or None)


def of_type(name: str, raw: str) -> TokenValue:
    """`:of-type` value `system|code|value` (stored as system='system|code', code=value)."""
    parts = raw.split("|")
    if len(parts) != 3 or not all(parts[1:]):
        raise bad(name, "':of-type' needs 'system|code|value'")
    return TokenValue(f"{parts[0]}|{parts[1]}", parts[2])


def date(name: str, raw: str) -> DateValue:
    """A prefixed date/dateTime."""
    m = _PREFIX_RE.match(raw)
    prefix, rest = (m.group(1) or "eq", m.group(2)) if m else ("eq", raw)
    rng = date_range(rest)
    if rng is None:
        raise bad(name, f"'{raw}' is not a valid date (prefix + YYYY[-MM[-DD[Thh:mm[:ss]]]])")
    return DateValue(prefix, rng[0], rng[1])


def number(name: str, raw: str, quantity: bool = False) -> NumberValue:
    """A prefixed number, or a quantity `[prefix]number|system|code`."""
    m = _PREFIX_RE.match(raw)
    prefix, rest = (m.group(1) or "eq", m.group(2)) if m else ("eq", raw)
    parts = rest.split("|")
    if len(parts) not in (1, 3) or (len(parts) == 3 and not quantity):
        raise bad(name, f"'{raw}' is not a valid {'quantity' if quantity else 'number'}")
    rng = number_range(parts[0])
    if rng is None:
        raise bad(name, f"'{parts[0]}' is not a number")
    system = parts[1] or None if len(parts) == 3 else None
    code = parts[2] or None if len(parts) == 3 else None
    return NumberValue(prefix, float(Decimal(parts[0])), float(rng[0]), float(rng[1]), system,
                       code)


def reference(name: str, raw: str, type_modifier: str | None) -> RefValue:
    """`Type/id`, `id`, an absolute URL (on our base it is local), or `canonical|version`."""
    if not raw:
        raise bad(name, "empty reference")
    t, i, url = parse_reference(raw)
    if t and i:
        if type_modifier and type_modifier != t:
            raise bad(name, f"':{type_modifier}' contradicts '{raw}'")
        return RefValue(t, i, None)
    if url and "/" not in url and ":" not in url:
        return RefValue(type_modifier, url, None)  # a plain id
    return RefValue(None, None, url)


def composite(name: str, raw: str, second_type: str | None) -> CompositeValue:
    """`token$token` or `token$quantity`."""
    parts = unescape_split(raw, "$")
    if len(parts) != 2:
        raise bad(name, "a composite value needs two components joined by '$'")
    first = token(name, parts[0])
    if second_type == "token":
        return CompositeValue(first, token(name, parts[1]))
    return CompositeValue(first, number(name, parts[1], quantity=True))


def folded(raw: str) -> str:
    """The folded form of a string search value."""
    return norm_string(raw)


def missing(name: str, raw: str) -> bool:
    """`:missing=true|false`."""
    if raw not in ("true", "false"):
        raise bad(name, "':missing' takes 'true' or 'false'")
    return raw == "true"

