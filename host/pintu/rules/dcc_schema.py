"""The hcert payload against the EU DCC JSON schema 1.3 (eu-dcc-schema, DCC.combined-schema.json, "Schema version
1.3.0"), written out as checks so that a refusal names the first offending field, never its value.

Only what the schema says, plus two bounds the issue of this rule set asks for and the 1.0-1.2 schemas had: dn and
sd within 1..9. Value sets (tg, tt, vaccines) are business rules and live in eu_rules.py, except the test result,
whose two values the schema's test-result value set fixes. A CBOR payload is the schema's JSON encoded as CBOR
(vol. 1, 3.3.1), so every field the schema types as a string must be a CBOR text string: a CBOR date tag is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone

from pintu.rules.cose import DccError

TEST_NOT_DETECTED = "260415000"  # SNOMED CT "Not detected": a negative test
TEST_DETECTED = "260373001"  # SNOMED CT "Detected": a positive test
TEST_RESULTS = (TEST_NOT_DETECTED, TEST_DETECTED)  # value set "covid-19-lab-result"

MAX_TEXT = 80  # schema: names, issuer, testing centre, certificate identifier
MAX_CODE = 64  # value-set codes (tg, vp, mp, ma, tt): real ones are under 40 characters
DOSE_MIN, DOSE_MAX = 1, 9  # $defs/dose_posint minimum 1; maximum 9 as in schemas 1.0-1.2

_VERSION = re.compile(r"1\.\d+\.\d+")  # "ver": semver; this verifier reads major version 1 only
_DOB = re.compile(r"((19|20)\d\d(-\d\d){0,2})?")  # "dob" pattern (may be empty: unknown)
_ICAO = re.compile(r"[A-Z<]*")  # "fnt"/"gnt": ICAO 9303 transliteration
_COUNTRY = re.compile(r"[A-Z]{1,10}")  # $defs/country_vt
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # JSON schema "format": "date" (RFC 3339 full-date)
# "format": "date-time" (RFC 3339 date-time): a time offset is required
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")

# Required fields of each entry type ($defs/vaccination_entry, test_entry, recovery_entry) and their kinds.
_ENTRY_FIELDS = {
    "v": {"tg": "code", "vp": "code", "mp": "code", "ma": "code", "dn": "dose", "sd": "dose", "dt": "date",
          "co": "country", "is": "text", "ci": "id"},
    "t": {"tg": "code", "tt": "code", "sc": "date_time", "tr": "result", "tc": "text", "co": "country",
          "is": "text", "ci": "id"},
    "r": {"tg": "code", "fr": "date", "co": "country", "is": "text", "df": "date", "du": "date", "ci": "id"},
}  # fmt: skip
_OPTIONAL_FIELDS = {"v": {}, "t": {"nm": "text", "ma": "code"}, "r": {}}


def check(hcert) -> str:
    """Raise DccError("schema", <first offending field>) unless `hcert` conforms; return its one entry type."""
    if not isinstance(hcert, Mapping):
        _fail("hcert")
    _text(hcert, "ver", "ver", MAX_CODE, _VERSION)
    _name(hcert.get("nam"))
    _text(hcert, "dob", "dob", MAX_CODE, _DOB)
    # "oneOf" of ver+nam+dob+v / +t / +r, each group "minItems": 1, "maxItems": 1 (EU business rules GR-EU-0000:
    # exactly one type of event; VR-EU-0000, TR-EU-0000, RR-EU-0000: at most one event of it).
    present = [kind for kind in "vtr" if kind in hcert]
    if len(present) != 1:
        _fail("v/t/r")
    kind = present[0]
    group = hcert[kind]
    if not isinstance(group, list | tuple) or len(group) != 1:
        _fail(kind)
    entry = group[0]
    where = "%s[0]" % kind
    if not isinstance(entry, Mapping):
        _fail(where)
    for field, form in _ENTRY_FIELDS[kind].items():
        _field(entry, field, form, "%s.%s" % (where, field), required=True)
    for field, form in _OPTIONAL_FIELDS[kind].items():
        _field(entry, field, form, "%s.%s" % (where, field), required=False)
    return kind


def parse_date(text) -> date:
    """A full-date the schema check has passed."""
    return date.fromisoformat(text)


def parse_date_time(text) -> datetime:
    """A date-time the schema check has passed, in UTC."""
    return datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text).astimezone(timezone.utc)


def _fail(where):
    raise DccError("schema", where)


def _name(nam):
    # $defs/person_name: "fnt" required; fn, gn free text; fnt, gnt ICAO transliterations
    if not isinstance(nam, Mapping):
        _fail("nam")
    _text(nam, "fnt", "nam.fnt", MAX_TEXT, _ICAO)
    for field, pattern in (("fn", None), ("gn", None), ("gnt", _ICAO)):
        if field in nam:
            _text(nam, field, "nam." + field, MAX_TEXT, pattern)


def _text(mapping, field, where, limit, pattern=None, nonempty=False):
    value = mapping.get(field)
    if not isinstance(value, str) or len(value) > limit or (nonempty and not value.strip()):
        _fail(where)
    if pattern is not None and not pattern.fullmatch(value):
        _fail(where)
    return value


def _field(entry, field, form, where, required):
    if field not in entry:
        if required:
            _fail(where)
        return
    if form == "dose":
        value = entry[field]
        if type(value) is not int or not DOSE_MIN <= value <= DOSE_MAX:
            _fail(where)
    elif form == "code":
        _text(entry, field, where, MAX_CODE, nonempty=True)
    elif form == "text":
        _text(entry, field, where, MAX_TEXT)
    elif form == "id":
        _text(entry, field, where, MAX_TEXT, nonempty=True)
    elif form == "country":
        _text(entry, field, where, 10, _COUNTRY)
    elif form == "result":
        if not isinstance(entry[field], str) or entry[field] not in TEST_RESULTS:
            _fail(where)
    elif form == "date":
        _valid(parse_date, _text(entry, field, where, 10, _FULL_DATE), where)
    elif form == "date_time":
        _valid(parse_date_time, _text(entry, field, where, 40, _DATE_TIME), where)
    else:  # a kind this table does not know is a bug here, not a pass
        _fail(where)


def _valid(parse, text, where):
    try:
        parse(text)  # the pattern admits 2022-13-45 and 25:00; the calendar does not
    except (ValueError, OverflowError):
        _fail(where)
