"""Check-digit rules for Norwegian identifiers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.validation import identifiers as ids


def make_fnr(day: int, month: int, year: int, individ: int) -> str | None:
    """A legacy-valid FNR for the date parts, or None when the check digits give 10."""
    first9 = f"{day:02d}{month:02d}{year:02d}{individ:03d}"
    k = ids.fnr_check_digits(first9)
    return None if k is None else f"{first9}{k[0]}{k[1]}"


dates = st.tuples(
    st.integers(1, 28), st.integers(1, 12), st.integers(0, 99), st.integers(0, 999)
)


@given(dates)
def test_generated_fnr_is_valid(parts: tuple[int, int, int, int]) -> None:
    fnr = make_fnr(*parts)
    if fnr is not None:
        assert ids.check_fnr(fnr) is None
        assert ids.check_fnr(fnr, "legacy") is None


@given(dates, st.integers(0, 10), st.integers(1, 9))
def test_any_single_digit_change_is_rejected(
    parts: tuple[int, int, int, int], pos: int, delta: int
) -> None:
    fnr = make_fnr(*parts)
    if fnr is None:
        return
    changed = fnr[:pos] + str((int(fnr[pos]) + delta) % 10) + fnr[pos + 1 :]
    # A single changed digit always breaks the mod-11 legacy rule (or the date).
    assert ids.check_fnr(changed, "legacy") is not None


@given(dates)
def test_dnr_is_fnr_with_day_plus_40(parts: tuple[int, int, int, int]) -> None:
    day, month, year, individ = parts
    dnr = make_fnr(day + 40, month, year, individ)
    if dnr is not None:
        assert ids.check_dnr(dnr) is None
        assert ids.check_fnr(dnr) == "date (day)"


def test_synthetic_test_person_month_plus_80() -> None:
    fnr = make_fnr(12, 85, 90, 123) or make_fnr(12, 85, 90, 124)
    assert fnr is not None
    assert ids.check_fnr(fnr) is None


def test_public_examples_that_fail_check_digits() -> None:
    assert ids.check_fnr("13057444850") is not None
    assert ids.check_fnr("05076600324") is not None


def test_rule_named_in_rejection() -> None:
    fnr = make_fnr(1, 1, 90, 123) or make_fnr(1, 1, 90, 124)
    assert fnr is not None
    bad = fnr[:10] + str((int(fnr[10]) + 1) % 10)
    assert ids.check_fnr(bad, "legacy") == "mod11-legacy"
    assert ids.check_fnr(bad, "2032") == "mod11-2032"
    assert ids.check_fnr(bad) == "mod11 (legacy and 2032 rules)"
    assert ids.check_fnr("1234") == "format (11 digits)"
    assert ids.check_fnr("32019012345") == "date (day)"


def _with_first_remainder(first9: str, r1: int) -> str | None:
    """A number whose first weighted remainder is r1 and second is 0 (2032 rule)."""
    for k1 in range(10):
        digits = first9 + str(k1)
        if ids._remainders(digits + "0")[0] != r1:
            continue
        for k2 in range(10):
            if ids._remainders(digits + str(k2))[1] == 0:
                return digits + str(k2)
    return None


@given(st.integers(0, 999), st.integers(1, 3))
def test_2032_rule_accepts_remainders_1_to_3(individ: int, r1: int) -> None:
    number = _with_first_remainder(f"010132{individ:03d}", r1)
    if number is None:
        return
    assert ids.check_fnr(number, "2032") is None
    assert ids.check_fnr(number, "both") is None
    assert ids.check_fnr(number, "legacy") == "mod11-legacy"


def test_orgnr_example_from_norway_md() -> None:
    assert ids.orgnr_check_digit("12345678") == 5
    assert ids.check_orgnr("123456785") is None
    assert ids.check_orgnr("123456784") == "mod11 (check digit)"
    assert ids.check_orgnr("12345678") == "format (9 digits)"


@given(st.text("0123456789", min_size=8, max_size=8))
def test_orgnr_roundtrip(first8: str) -> None:
    k = ids.orgnr_check_digit(first8)
    if k is None:
        assert all(ids.check_orgnr(first8 + str(d)) is not None for d in range(10))
    else:
        assert ids.check_orgnr(first8 + str(k)) is None
        assert ids.check_orgnr(first8 + str((k + 1) % 10)) is not None


def test_check_identifier_dispatch() -> None:
    assert ids.check_identifier(ids.ORGNR_SYSTEM, "123456785") is None
    assert ids.check_identifier("urn:oid:2.16.578.1.12.4.1.2.101", "123456785") is not None
    assert ids.check_identifier("http://example.org", "x") is None
    assert ids.check_identifier(ids.HPR_SYSTEM, "12a") == "format (1-9 digits)"
    assert ids.check_identifier(ids.FHN_SYSTEM, "12345678901") is not None
