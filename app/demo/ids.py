"""Deterministic synthetic identifiers: resource ids, FNR (month + 80), organisasjonsnummer, HPR."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from app.validation.identifiers import fnr_check_digits, orgnr_check_digit

_NAMESPACE = uuid.UUID("6f1b3c52-9a43-4f0e-8d0c-2f5a8b1e7c10")
_FIRST_BIRTH = date(1950, 1, 1)
_BIRTH_DAYS = (date(2004, 12, 31) - _FIRST_BIRTH).days + 1
_STEP = 7919  # a prime, so consecutive patients get well spread birth dates
_BLOCK = 8  # individual numbers tried per slot; all eight failing has odds of about 1e-6


def resource_id(seed: int, kind: str, *parts: int) -> str:
    """A stable id that looks like a server-assigned UUID (same seed, same ids)."""
    name = f"{seed}:{kind}:" + ":".join(str(p) for p in parts)
    return str(uuid.uuid5(_NAMESPACE, name))


def synthetic_fnr(seed: int, index: int) -> tuple[str, date, str]:
    """A unique synthetic FNR for patient `index`: (fnr, birth date, gender)."""
    day = (index * _STEP + seed * 104_729) % _BIRTH_DAYS
    born = _FIRST_BIRTH + timedelta(days=day)
    slot = index // _BIRTH_DAYS  # patients sharing a birth date get disjoint number blocks
    base = 0 if born.year < 2000 else 500
    prefix = f"{born.day:02d}{born.month + 80:02d}{born.year % 100:02d}"
    for individual in range(base + slot * _BLOCK, base + (slot + 1) * _BLOCK):
        first9 = f"{prefix}{individual:03d}"
        digits = fnr_check_digits(first9)
        if digits is not None:
            gender = "male" if individual % 2 else "female"
            return f"{first9}{digits[0]}{digits[1]}", born, gender
    raise ValueError(f"no valid FNR in block {slot} for {born}")  # pragma: no cover


def orgnr(index: int) -> str:
    """A valid organisasjonsnummer; distinct indexes give distinct numbers."""
    first8 = 91_000_000 + index * 11
    while True:
        check = orgnr_check_digit(str(first8))
        if check is not None:
            return f"{first8}{check}"
        first8 += 1  # spacing of 11 keeps this step inside the index's own range


def hpr(index: int) -> str:
    """A synthetic HPR number (digits only, no public check digit)."""
    return str(9_100_000 + index)
