"""Durations, dates and times as operators type them; NIK validation and its keyed hash."""

import pytest

from pintu.errors import PintuError
from pintu.registry.validate import parse_date, parse_duration, parse_time
from pintu.rules.nik import NikHasher, is_nik, normalise_nik
from pintu.times import format_duration


@pytest.mark.parametrize(
    "text, seconds", [("8h", 28800), ("30d", 2592000), ("90m", 5400), ("45s", 45), ("2w", 1209600)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "8x", "h", "-1h", "1.5h", "eight hours", "8", "30"])  # a unit is required
def test_bad_durations(text):
    with pytest.raises(PintuError, match="bad duration"):
        parse_duration(text)


@pytest.mark.parametrize("seconds, text", [(28800, "8h"), (2592000, "30d"), (5400, "90m"), (45, "45s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_dates_and_times():
    assert parse_date(" 2021-08-17 ") == "2021-08-17"
    for bad in ("17/08/2021", "2021-02-30", "tomorrow", ""):
        with pytest.raises(PintuError, match="bad date"):
            parse_date(bad)
    now = 1_700_000_000
    assert parse_time("2h", now) == now - 7200
    assert parse_time("2021-09-01", now) < parse_time("2021-09-01T10:00", now)
    with pytest.raises(PintuError, match="bad time"):
        parse_time("soon", 0)


def test_nik():
    assert normalise_nik("3275 0101.0180 0001") == "3275010101800001"
    assert is_nik("3275010101800001") and not is_nik("327501010180000")
    hasher = NikHasher(bytes(32))
    assert hasher.hash("3275010101800001") == hasher.hash("3275 0101 0180 0001") != hasher.hash("3275010101800002")
    assert NikHasher(bytes([1]) * 32).hash("3275010101800001") != hasher.hash("3275010101800001")
    with pytest.raises(PintuError):
        NikHasher(b"short")
