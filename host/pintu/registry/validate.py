"""The one place where what an operator types is checked, one function per kind: ids, names, choices, counts, dates,
times, durations, addresses. Each failure is a PintuError of one line naming the input; callers check everything
before they write anything.

Bounds are written next to each constant with the reason. Durations always carry a unit: a bare `30` once meant 30
hours to `purge` while the operator meant days (issue 15).
"""

import ipaddress
import re
import unicodedata
from datetime import date, datetime, timezone

from pintu.errors import PintuError
from pintu.times import UNIT_S, format_duration

MAX_NAME = 100  # a name on a card and in a table; the longest Indonesian KTP name field is 60 characters
MAX_ID = 32  # ids are MQTT user names and topic levels and file names: short and plain
# The host's own MQTT login (broker.py writes it into passwd and acl): a device with this id would replace it.
HOST_USER = "pintu-host"
RESERVED_IDS = (HOST_USER,)
MAX_COUNT = 1_000_000  # capacities and listing limits: no building holds more, and SQLite integers stay far away
MIN_MAX_STAY_S = 5 * 60  # a shorter automatic check-out would close a visit while the person is still in the lobby
# No dose of a COVID-19 vaccine was given before 2020 (first trial doses: March 2020); pintu keeps no record before.
FIRST_DAY = date(2020, 1, 1)
LAST_DAY = date(2100, 1, 1)  # far enough for any real date, near enough that epoch arithmetic never overflows
MAX_DURATION_S = 100 * 365 * 86400  # a century: longer is a typo, and it keeps now - duration inside FIRST_DAY's range
MAX_SSID_BYTES = 32  # IEEE 802.11
MAX_WIFI_PASSWORD = 63  # WPA2 passphrase limit

_DURATION = re.compile(r"^\s*(\d{1,12})\s*([smhdw])\s*$")

# Bidirectional overrides can make a name print as another on a terminal or a card.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _bad(what, kind, value, expected):
    """'bad date '17/08/2021' for dose1 (expected YYYY-MM-DD)': the kind of input first, then which input it was."""
    where = "" if kind == what else " for %s" % kind
    return PintuError("bad %s %s%s (%s)" % (what, _show(value), where, expected))


def _show(value, limit=40):
    """An input as an error message shows it: repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- ids, names, choices


def check_id(kind, value, reserved=RESERVED_IDS):
    value = "" if value is None else str(value)
    if not value or len(value) > MAX_ID or not value.isascii() or not all(ch.isalnum() or ch in "-_." for ch in value):
        raise PintuError("bad %s id %s (letters, digits, - _ . ; at most %d)" % (kind, _show(value), MAX_ID))
    # The host workers' logins are pintu-host, pintu-host-2, ... (broker.py): every id of that form is reserved.
    if value.lower() in reserved or any(value.lower().startswith(r + "-") for r in reserved):
        raise PintuError("%s id %r is reserved" % (kind, value))
    return value


def check_choice(kind, value, choices):
    if value not in choices:
        raise PintuError("bad %s %s (one of %s)" % (kind, _show(value), ", ".join(choices)))
    return value


def check_text(kind, value, limit=MAX_NAME):
    """Free text an operator or a CSV gives (a name, a clinic, a vaccine): no control characters (ANSI escapes, NUL,
    newlines would reach terminals, cards and config files raw), no bidirectional overrides, at most `limit`."""
    value = unicodedata.normalize("NFC", (value or "").strip())
    if len(value) > limit:
        raise PintuError("%s longer than %d characters" % (kind, limit))
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp", "Co", "Cn") or ch in _BIDI:
            raise PintuError("%s contains a control character (U+%04X)" % (kind, ord(ch)))
    return value


def check_name(name, kind="name"):
    return check_text(kind, name)


# -- counts


def check_count(kind, value, low=1, high=MAX_COUNT):
    """An integer an operator types (a capacity, a limit) within [low, high]."""
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise PintuError("bad %s %s (a whole number)" % (kind, _show(value))) from None
    if isinstance(number, bool) or not low <= number <= high:
        raise PintuError("%s must be from %d to %s" % (kind, low, format(high, ",")))
    return number


def check_capacity(capacity):
    return check_count("capacity", capacity, 1, MAX_COUNT)


# -- dates, times, durations


def parse_date(text, kind="date"):
    """An ISO date 'YYYY-MM-DD' from 2020 to 2099 -> the same string, normalised."""
    if isinstance(text, date):
        day = text
    else:
        try:
            day = date.fromisoformat(str(text).strip())
        except ValueError:
            raise _bad("date", kind, text, "expected YYYY-MM-DD") from None
    if not FIRST_DAY <= day < LAST_DAY:
        raise PintuError("%s %s is out of range (%s to %d)" % (kind, day, FIRST_DAY, LAST_DAY.year - 1))
    return day.isoformat()


def check_dose_date(text, today, kind="dose date"):
    """A vaccine dose: not before 2020 (none were given) and not after today (a future dose would count now and, as
    doses are ordered, block every real one)."""
    day = parse_date(text, kind)
    if day > today:
        raise PintuError("%s %s is in the future" % (kind, day))
    return day


def parse_duration(text, kind="duration", minimum=0):
    """'8h' -> 28800 seconds. Units s, m, h, d, w are required; at most a century."""
    match = _DURATION.match(str(text).lower())
    if not match:
        raise _bad("duration", kind, text, "a number and a unit s, m, h, d or w, e.g. 30m, 8h, 30d")
    seconds = int(match.group(1)) * UNIT_S[match.group(2)]
    if seconds > MAX_DURATION_S:
        raise PintuError("%s %s is too long (at most 100 years)" % (kind, match.group(0).strip()))
    if seconds < minimum:
        raise PintuError("%s %s is too short (at least %s)" % (kind, match.group(0).strip(), format_duration(minimum)))
    return seconds


def check_max_stay(text):
    return parse_duration(text, "max stay", MIN_MAX_STAY_S)


def parse_time(text, now, kind="time"):
    """An ISO date or date-time (2020..2099), or a duration meaning 'that long before now' -> epoch seconds."""
    text = str(text).strip()
    if _DURATION.match(text.lower()):
        moment = int(now - parse_duration(text, kind))
    else:
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise _bad("time", kind, text, "expected YYYY-MM-DD, YYYY-MM-DDTHH:MM or a duration like 2h") from None
        if not FIRST_DAY.year <= parsed.year < LAST_DAY.year:
            raise PintuError("%s %s is out of range (%s to %d)" % (kind, text, FIRST_DAY, LAST_DAY.year - 1))
        moment = int(parsed.timestamp())
    low = datetime(FIRST_DAY.year, 1, 1, tzinfo=timezone.utc).timestamp()
    if moment < low:
        raise PintuError("%s %s is before %s" % (kind, text, FIRST_DAY))
    return moment


# -- addresses


def check_ip(text, kind="address"):
    """An IP address a listener binds to (written into mosquitto.conf: nothing else may reach that file)."""
    try:
        return str(ipaddress.ip_address(str(text).strip()))
    except ValueError:
        raise _bad("address", kind, text, "an IPv4 or IPv6 address, e.g. 0.0.0.0") from None


def check_wifi(ssid, password):
    """A unit's Wi-Fi network and passphrase, written into its config file."""
    ssid = check_text("Wi-Fi SSID", ssid or "", MAX_SSID_BYTES)
    if len(ssid.encode()) > MAX_SSID_BYTES:
        raise PintuError("Wi-Fi SSID longer than %d bytes" % MAX_SSID_BYTES)
    password = password or ""
    if len(password) > MAX_WIFI_PASSWORD or any(unicodedata.category(ch) == "Cc" for ch in password):
        raise PintuError("bad Wi-Fi password (at most %d characters, no control characters)" % MAX_WIFI_PASSWORD)
    return ssid, password


# -- the web console's accounts (registry/users.py)

MAX_USER_NAME = 64  # a login name: typed on a tablet, shown in the console's header and in `user list`
MIN_PASSWORD = 10  # NIST SP 800-63B asks at least 8 of a password a person chooses; a door console gets a bit more
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a hostile login form from costing more than a real one


def check_user_name(name):
    """A console login: printable, no spaces at either end, at most MAX_USER_NAME characters."""
    value = check_text("user name", name, MAX_USER_NAME)
    if not value or any(ch.isspace() for ch in value):
        raise PintuError("bad user name %s (printable, no spaces, at most %d characters)" % (_show(value),
                                                                                             MAX_USER_NAME))
    return value


def check_password(password):
    """A new password: MIN_PASSWORD to MAX_PASSWORD characters (never echoed in an error)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise PintuError("a password needs at least %d characters" % MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise PintuError("a password has at most %d characters" % MAX_PASSWORD)
    return password
