"""FHIR date, dateTime and instant values as UTC ranges (https://hl7.org/fhir/R4/datatypes.html)."""

from __future__ import annotations

import datetime as dt
import re

from app.fhir.errors import BadRequest

_DT_RE = re.compile(
    r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<H>\d{2}):(?P<M>\d{2})(:(?P<S>\d{2})(?P<f>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def utcnow() -> dt.datetime:
    """Now, naive UTC, truncated to milliseconds (the precision we serve in meta.lastUpdated)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_instant(value: dt.datetime) -> str:
    """A naive UTC datetime as a FHIR instant with milliseconds."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+00:00"


def http_date(value: dt.datetime) -> str:
    """A naive UTC datetime as an HTTP date (Last-Modified)."""
    return value.replace(tzinfo=dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_http_date(value: str) -> dt.datetime | None:
    """Parse an HTTP date (If-Modified-Since) into naive UTC, or None when malformed."""
    try:
        parsed = dt.datetime.strptime(value.strip(), "%a, %d %b %Y %H:%M:%S GMT")
    except ValueError:
        return None
    return parsed


def parse_range(value: str, param: str) -> tuple[dt.datetime, dt.datetime]:
    """Parse a FHIR date/dateTime/instant into the UTC range [start, end) its precision covers."""
    m = _DT_RE.match(value.strip())
    if not m:
        raise BadRequest(f"'{value[:40]}' is not a valid FHIR date or dateTime.", expression=param)
    g = m.groupdict()
    try:
        start = dt.datetime(
            int(g["y"]), int(g["m"] or 1), int(g["d"] or 1), int(g["H"] or 0), int(g["M"] or 0),
            int(g["S"] or 0), int(float(g["f"] or 0) * 1_000_000),
        )
    except ValueError:
        raise BadRequest(f"'{value[:40]}' is not a valid calendar date.", expression=param) from None
    end = _end_of_precision(start, g)
    offset = _offset(g["tz"])
    return start - offset, end - offset


def _end_of_precision(start: dt.datetime, g: dict[str, str | None]) -> dt.datetime:
    """The exclusive end of the period the value's precision names."""
    if g["m"] is None:
        return start.replace(year=start.year + 1)
    if g["d"] is None:
        if start.month == 12:
            return start.replace(year=start.year + 1, month=1)
        return start.replace(month=start.month + 1)
    if g["H"] is None:
        return start + dt.timedelta(days=1)
    if g["S"] is None:
        return start + dt.timedelta(minutes=1)
    if g["f"] is None:
        return start + dt.timedelta(seconds=1)
    digits = len(g["f"] or ".") - 1
    return start + dt.timedelta(microseconds=max(1, 10 ** max(0, 6 - digits)))


def _offset(tz: str | None) -> dt.timedelta:
    """The UTC offset of a FHIR time zone (none given: treated as UTC, as the server's zone)."""
    if not tz or tz == "Z":
        return dt.timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    return sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
