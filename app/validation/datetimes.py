"""FHIR date/dateTime comparison with FHIRPath precision semantics (https://hl7.org/fhirpath/#comparison)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DT = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _parts(value: str) -> tuple[list[int], bool] | None:
    """Components (year..second, normalised to UTC when a time zone is given) and precision."""
    m = _DT.match(value)
    if m is None:
        return None
    nums = [int(g) for g in m.groups()[:6] if g is not None]
    if len(nums) >= 5 and m.group(8):
        tz = m.group(8)
        offset = timedelta(0) if tz == "Z" else timedelta(
            hours=int(tz[1:3]), minutes=int(tz[4:6])
        ) * (1 if tz[0] == "+" else -1)
        y, mo, d, h, mi, sec = nums + [0] * (6 - len(nums))
        dt = datetime(y, mo, d, h, mi, sec, tzinfo=UTC) - offset
        nums = [dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second][: len(nums)]
    frac = m.group(7)
    if frac is not None and len(nums) == 6:
        nums.append(int((frac + "000")[:3]))
    return nums, bool(m.group(8))


def compare_datetimes(a: str, b: str) -> int | None:
    """-1, 0 or 1; None when the values differ in precision and agree on the shared part."""
    pa, pb = _parts(a), _parts(b)
    if pa is None or pb is None:
        return None
    xa, xb = pa[0], pb[0]
    for i in range(min(len(xa), len(xb))):
        if xa[i] != xb[i]:
            return -1 if xa[i] < xb[i] else 1
    return 0 if len(xa) == len(xb) else None
