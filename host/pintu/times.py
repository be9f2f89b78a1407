"""Showing times and converting them: durations like 8h, calendar days, epoch seconds. What an operator types is
parsed and checked in registry/validate.py."""

from datetime import date, datetime

UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def format_duration(seconds):
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % UNIT_S[unit] == 0:
            return "%d%s" % (seconds // UNIT_S[unit], unit)
    return "%ds" % seconds


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
