"""Value normalisation shared by extraction (write) and query parsing (read).

Strings: https://hl7.org/fhir/R4/search.html#string (case- and accent-insensitive).
Dates: https://hl7.org/fhir/R4/search.html#date (a value is an implicit range by its precision).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

# Norwegian letters that Unicode does not decompose (ø, æ) fold like their ASCII spellings,
# so "Bjorn" finds "Bjørn" and "Aerlig" finds "Ærlig"; å folds by decomposition (å -> a).
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ð": "d", "þ": "th", "ł": "l", "đ": "d", "ß": "ss"})
NORM_LEN = 200  # indexed prefix length; longer values still match on their first 200 chars

# Dates without a zone are local Norwegian time (the spec leaves this to the server).
LOCAL_TZ = ZoneInfo("Europe/Oslo")
MIN_DT = dt.datetime(1, 1, 1)
MAX_DT = dt.datetime(9999, 12, 31, 23, 59, 59, 999999)

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@lru_cache(maxsize=8192)  # names, codes and display texts repeat across resources
def norm_string(value: str) -> str:
    """Fold case and accents (including ø, æ, å) for string search."""
    folded = unicodedata.normalize("NFKD", value.casefold().translate(_FOLD))
    out = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(out.split())[:NORM_LEN]


def _to_utc(value: dt.datetime, tz: str | None) -> dt.datetime:
    """Interpret a wall-clock time in its zone (or Oslo) and return naive UTC."""
    if tz is None:
        aware = value.replace(tzinfo=LOCAL_TZ)
    elif tz == "Z":
        aware = value.replace(tzinfo=dt.UTC)
    else:
        sign = 1 if tz[0] == "+" else -1
        offset = dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * sign
        aware = value.replace(tzinfo=dt.timezone(offset))
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def _end_of(start: dt.datetime, precision: str) -> dt.datetime:
    """The last microsecond of the period that starts at `start` with `precision`."""
    if precision == "y":
        nxt = start.replace(year=start.year + 1) if start.year < 9999 else None
    elif precision == "m":
        nxt = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    else:
        step = {"d": dt.timedelta(days=1), "H": dt.timedelta(hours=1),
                "M": dt.timedelta(minutes=1), "S": dt.timedelta(seconds=1)}
        nxt = start + step[precision] if precision in step else None
    if nxt is None:
        return start if precision == "f" else MAX_DT
    return nxt - dt.timedelta(microseconds=1)


@lru_cache(maxsize=8192)  # pure, and the same dates recur across resources and versions
def date_range(value: str) -> tuple[dt.datetime, dt.datetime] | None:
    """A FHIR date/dateTime/instant as an inclusive naive-UTC range, or None when malformed."""
    m = _DATE_RE.match(value.strip())
    if not m:
        return None
    g = m.groupdict()
    if g["H"] is not None and g["M"] is None:
        return None
    try:
        start = dt.datetime(
            int(g["y"]), int(g["m"] or 1), int(g["d"] or 1), int(g["H"] or 0),
            int(g["M"] or 0), int(g["S"] or 0), int((g["f"] or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    precision = next(
        (p for p, k in (("f", "f"), ("S", "S"), ("M", "M"), ("d", "d"), ("m", "m")) if g[k]), "y"
    )
    end = _end_of(start, precision)
    # A calendar date, or a time without a zone, is local (Oslo) time.
    try:
        lo = _to_utc(start, g["tz"]) if start.year > 1 else MIN_DT
        hi = _to_utc(end, g["tz"]) if end.year < 9999 else MAX_DT
    except (OverflowError, ValueError):
        return None
    return lo, hi


def number_range(value: str) -> tuple[Decimal, Decimal] | None:
    """A search number as the range its significant digits imply (100 -> [99.5, 100.5])."""
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    exp = d.as_tuple().exponent
    if not isinstance(exp, int):
        return None
    half = Decimal(5).scaleb(exp - 1)
    return d - half, d + half
