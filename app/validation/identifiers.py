"""Norwegian identifier systems and check-digit rules (see docs/profiles.md and norway.md).

Each check returns None when the number is valid, or the name of the rule that rejected it,
so a caller can say exactly why a number was refused.
"""

from __future__ import annotations

from typing import Literal

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
FHN_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.3"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
RESH_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.102"
HERID_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"
KOMMUNE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.3402"
# Replaced OIDs (norway.md): never accepted as current.
RETIRED_SYSTEMS = frozenset({"urn:oid:2.16.578.1.12.4.1.2.101", "urn:oid:2.16.578.1.12.4.1.2.102"})
PERSON_SYSTEMS = frozenset({FNR_SYSTEM, DNR_SYSTEM, FHN_SYSTEM})

# "legacy": both remainders 0; "2032": first remainder 0-3 (numbers issued from 2032);
# "both": accept either, as systems must during the transition (Skatteetaten).
CheckRule = Literal["legacy", "2032", "both"]

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_ORG_W = (3, 2, 7, 6, 5, 4, 3, 2)


def _remainders(digits: str) -> tuple[int, int]:
    """Weighted sums mod 11 over the first ten and all eleven digits (check digits weight 1)."""
    d = [int(c) for c in digits]
    r1 = sum(w * x for w, x in zip(_W1, d, strict=False)) % 11
    r2 = sum(w * x for w, x in zip(_W2, d, strict=False)) % 11
    return r1, r2


def _check_mod11(digits: str, rule: CheckRule) -> str | None:
    """Which mod-11 rule rejects an 11-digit number, or None."""
    r1, r2 = _remainders(digits)
    legacy_ok = r1 == 0 and r2 == 0
    new_ok = r1 in (0, 1, 2, 3) and r2 == 0
    if rule == "legacy":
        return None if legacy_ok else "mod11-legacy"
    if rule == "2032":
        return None if new_ok else "mod11-2032"
    return None if (legacy_ok or new_ok) else "mod11 (legacy and 2032 rules)"


def _check_date(digits: str, *, day_offset: int) -> str | None:
    """Plausible birth date: day (+40 for DNR), month (+40 H-nummer, +80 synthetic test person)."""
    day, month = int(digits[0:2]) - day_offset, int(digits[2:4])
    if not 1 <= day <= 31:
        return "date (day)"
    if month > 80:
        month -= 80
    elif month > 40:
        month -= 40
    return None if 1 <= month <= 12 else "date (month)"


def check_fnr(value: str, rule: CheckRule = "both", *, dates: bool = True) -> str | None:
    """Fødselsnummer: 11 digits, plausible date (unless dates=False), mod-11 check digits."""
    if len(value) != 11 or not value.isdigit():
        return "format (11 digits)"
    return (_check_date(value, day_offset=0) if dates else None) or _check_mod11(value, rule)


def check_dnr(value: str, rule: CheckRule = "both", *, dates: bool = True) -> str | None:
    """D-nummer: as FNR with the first digit + 4."""
    if len(value) != 11 or not value.isdigit():
        return "format (11 digits)"
    if value[0] not in "4567":
        return "format (D-nummer starts with 4-7)"
    return (_check_date(value, day_offset=40) if dates else None) or _check_mod11(value, rule)


def check_fhn(value: str, rule: CheckRule = "both") -> str | None:
    """Felles hjelpenummer: 11 digits starting with 8 or 9, mod-11 check digits."""
    if len(value) != 11 or not value.isdigit():
        return "format (11 digits)"
    if value[0] not in "89":
        return "format (FHN starts with 8 or 9)"
    return _check_mod11(value, rule)


def orgnr_check_digit(first8: str) -> int | None:
    """The organisasjonsnummer check digit for 8 digits, or None when the remainder gives 10."""
    k = 11 - sum(w * int(c) for w, c in zip(_ORG_W, first8, strict=True)) % 11
    if k == 11:
        return 0
    return None if k == 10 else k


def check_orgnr(value: str) -> str | None:
    """Organisasjonsnummer: 9 digits, weights 3,2,7,6,5,4,3,2, mod 11."""
    if len(value) != 9 or not value.isdigit():
        return "format (9 digits)"
    k = orgnr_check_digit(value[:8])
    if k is None:
        return "mod11 (remainder gives 10)"
    return None if k == int(value[8]) else "mod11 (check digit)"


def check_hpr(value: str) -> str | None:
    """HPR-nummer: digits only (no public check-digit rule)."""
    return None if value.isdigit() and 1 <= len(value) <= 9 else "format (1-9 digits)"


def check_identifier(
    system: str, value: str, rule: CheckRule = "both", *, dates: bool = True
) -> str | None:
    """Check a value against the rule of a known Norwegian system; unknown systems pass."""
    if system in RETIRED_SYSTEMS:
        return "retired OID (use urn:oid:2.16.578.1.12.4.1.4.101/102)"
    if system == FNR_SYSTEM:
        return check_fnr(value, rule, dates=dates)
    if system == DNR_SYSTEM:
        return check_dnr(value, rule, dates=dates)
    if system == FHN_SYSTEM:
        return check_fhn(value, rule)
    if system == ORGNR_SYSTEM:
        return check_orgnr(value)
    if system == HPR_SYSTEM:
        return check_hpr(value)
    return None


def fnr_check_digits(first9: str) -> tuple[int, int] | None:
    """The legacy check digits for nine digits, or None when either would be 10."""
    d = [int(c) for c in first9]
    k1 = (11 - sum(w * x for w, x in zip(_W1, d, strict=False)) % 11) % 11
    if k1 == 10:
        return None
    k2 = (11 - sum(w * x for w, x in zip(_W2, [*d, k1], strict=False)) % 11) % 11
    return None if k2 == 10 else (k1, k2)
