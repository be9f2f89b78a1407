"""Parsing and showing the times an operator types: ISO dates, durations like 8h or 30d, epoch seconds."""

import re
from datetime import date, datetime

from pintu.errors import PintuError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text):
    """'8h' -> 28800 seconds. Units: s, m, h, d, w; a bare number means hours (how guards say a stay)."""
    if isinstance(text, (int, float)):
        return int(text)
    text = str(text).strip().lower()
    if text.isdigit():
        return int(text) * 3600
    match = _DURATION.match(text)
    if not match:
        raise PintuError("bad duration %r (expected e.g. 30m, 8h, 30d)" % text)
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def format_duration(seconds):
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_S[unit] == 0:
            return "%d%s" % (seconds // _UNIT_S[unit], unit)
    return "%ds" % seconds


def parse_date(text):
    """An ISO date 'YYYY-MM-DD' -> the same string, normalised; raises PintuError on anything else."""
    if isinstance(text, date):
        return text.isoformat()
    try:
        return date.fromisoformat(str(text).strip()).isoformat()
    except ValueError:
        raise PintuError("bad date %r (expected YYYY-MM-DD)" % (text,)) from None


def parse_time(text, now):
    """An ISO date or date-time, or a duration meaning 'that long before now' -> epoch seconds."""
    text = str(text).strip()
    if _DURATION.match(text.lower()):
        return int(now - parse_duration(text))
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise PintuError("bad time %r (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM or a duration like 2h)" % text) from None
    return int(moment.timestamp())


def local_date(epoch):
    """The calendar day (ISO) of an epoch time on the host's clock: doses and health windows are days."""
    return date.fromtimestamp(epoch).isoformat()


def day_number(iso_day):
    """Days since 1970-01-01, as carried in a credential."""
    return (date.fromisoformat(iso_day) - date(1970, 1, 1)).days


def show_time(epoch):
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")
