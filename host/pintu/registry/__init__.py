"""Sites, doors, devices and persons (with doses and health status): adding, changing, listing and bulk import."""

import csv
import os
import time
from collections import namedtuple

from pintu.errors import PintuError
from pintu.rules import policy
from pintu.rules.nik import normalise_nik
from pintu.times import format_duration, local_date, parse_date, parse_duration

DEFAULT_MAX_STAY = "8h"
IMPORT_COLUMNS = ("nik", "name", "role", "dose1", "dose2", "dose3", "status", "status_until")
MAX_NAME = 100


def _check_id(kind, value):
    if not value or len(value) > 32 or not all(ch.isalnum() or ch in "-_." for ch in value) or not value.isascii():
        raise PintuError("bad %s id %r (letters, digits, - _ . ; at most 32)" % (kind, value))
    return value


def _check_choice(kind, value, choices):
    if value not in choices:
        raise PintuError("bad %s %r (one of %s)" % (kind, value, ", ".join(choices)))
    return value


def _check_capacity(capacity):
    try:
        capacity = int(capacity)
    except (TypeError, ValueError):
        raise PintuError("bad capacity %r" % (capacity,)) from None
    if capacity < 0:
        raise PintuError("capacity must not be negative")
    return capacity


def _check_name(name):
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise PintuError("name longer than %d characters" % MAX_NAME)
    return name


# -- sites


def site_dict(row):
    return {
        "site": row["id"],
        "name": row["name"],
        "capacity": row["capacity"],
        "policy": row["policy"],
        "referral": row["referral"],
        "max_stay": format_duration(row["max_stay_s"]),
        "yellow_admits": bool(row["yellow_admits"]),
        "accept_tests": bool(row["accept_tests"]),
    }


def get_site(data, site_id):
    row = data.store.get_site(site_id)
    if row is None:
        raise PintuError("unknown site %r" % site_id)
    return row


def add_site(
    data,
    site_id,
    name,
    capacity,
    policy_name=policy.DEFAULT_PROFILE,
    referral="",
    max_stay=DEFAULT_MAX_STAY,
    yellow_admits=True,
    accept_tests=False,
):
    _check_id("site", site_id)
    _check_choice("policy", policy_name, tuple(policy.PROFILES))
    with data.store.write():
        data.store.insert_site(
            site_id,
            _check_name(name) or site_id,
            _check_capacity(capacity),
            policy_name,
            referral or "",
            parse_duration(max_stay),
            yellow_admits,
            int(time.time()),
            accept_tests,
        )
    return site_dict(get_site(data, site_id))


def set_site(
    data, site_id, name=None, capacity=None, policy_name=None, referral=None, max_stay=None, yellow_admits=None,
    accept_tests=None,
):
    fields = {}
    if name is not None:
        fields["name"] = _check_name(name)
    if capacity is not None:
        fields["capacity"] = _check_capacity(capacity)
    if policy_name is not None:
        fields["policy"] = _check_choice("policy", policy_name, tuple(policy.PROFILES))
    if referral is not None:
        fields["referral"] = referral
    if max_stay is not None:
        fields["max_stay_s"] = parse_duration(max_stay)
    if yellow_admits is not None:
        fields["yellow_admits"] = int(bool(yellow_admits))
    if accept_tests is not None:
        fields["accept_tests"] = int(bool(accept_tests))
    with data.store.write():
        get_site(data, site_id)
        data.store.update_site(site_id, fields)
    return site_dict(get_site(data, site_id))


def list_sites(data):
    return [site_dict(row) for row in data.store.list_sites()]


def show_site(data, site_id):
    out = site_dict(get_site(data, site_id))
    out["doors"] = [door_dict(row) for row in data.store.list_doors(site_id)]
    return out


# -- doors and devices


def door_dict(row):
    return {"door": row["id"], "site": row["site_id"], "direction": row["direction"]}


def add_door(data, door_id, site_id, direction):
    _check_id("door", door_id)
    _check_choice("direction", direction, policy.DIRECTIONS)
    with data.store.write():
        get_site(data, site_id)
        data.store.insert_door(door_id, site_id, direction)
    return door_dict(data.store.get_door(door_id))


def list_doors(data, site_id=None):
    if site_id is not None:
        get_site(data, site_id)
    return [door_dict(row) for row in data.store.list_doors(site_id)]


def add_device(data, device_id, door_id=None, key=None):
    """Register a door unit with its own 32-byte secret key (generated unless given). -> (dict, key)."""
    _check_id("device", device_id)
    key = key or os.urandom(32)
    with data.store.write():
        if door_id is not None and data.store.get_door(door_id) is None:
            raise PintuError("unknown door %r" % door_id)
        data.store.insert_device(device_id, door_id, key)
    return device_dict(data.store.get_device(device_id)), key


def device_dict(row):
    return {
        "device": row["id"],
        "door": row["door_id"],
        "last_seen": row["last_seen"],
        "firmware": row["firmware"],
        "board": row["board"],
        "revoked": row["revoked"] is not None,
    }


def list_devices(data):
    return [device_dict(row) for row in data.store.list_devices()]


def device_seen(data, device_id, at=None, firmware=None, board=None):
    with data.store.write():
        data.store.touch_device(device_id, int(time.time() if at is None else at), firmware, board)


def revoke_device(data, device_id, at=None):
    """A lost or stolen unit: its frames are refused from now on (the gateway checks `revoked`)."""
    with data.store.write():
        if data.store.get_device(device_id) is None:
            raise PintuError("unknown device %r" % device_id)
        data.store.revoke_device(device_id, int(time.time() if at is None else at))
    return device_dict(data.store.get_device(device_id))


# -- persons


def find_person(data, nik):
    row = data.store.find_person(data.nik.hash(nik))
    if row is None:
        raise PintuError("no person with that NIK")
    return row


def person_dict(data, row, at=None):
    state_today = local_date(time.time() if at is None else at)
    doses = data.store.list_doses(row["id"])
    return {
        "person": row["id"],
        "name": row["name"],
        "role": row["role"],
        "doses": [{"number": d["number"], "date": d["date"], "vaccine": d["vaccine"]} for d in doses],
        "status": row["status"],
        "status_since": row["status_since"],
        "status_until": row["status_until"],
        "status_active": row["status"] != "clear"
        and policy.in_window(row["status_since"], row["status_until"], state_today),
        "cards": sum(1 for c in data.store.list_credentials(row["id"]) if c["revoked"] is None),
    }


def add_person(data, nik, name="", role="visitor"):
    nik_hash = data.nik.hash(normalise_nik(nik))
    _check_choice("role", role, policy.ROLES)
    with data.store.write():
        person_id = data.store.insert_person(nik_hash, _check_name(name), role, int(time.time()))
    return person_dict(data, data.store.get_person(person_id))


def show_person(data, nik):
    return person_dict(data, find_person(data, nik))


def add_dose(data, nik, day, vaccine=""):
    day = parse_date(day)
    with data.store.write():
        person = find_person(data, nik)
        dates = data.store.dose_dates(person["id"])
        if dates and day < max(dates):
            raise PintuError("dose date %s is before the previous dose (%s)" % (day, max(dates)))
        data.store.add_dose(person["id"], day, vaccine or "")
    return person_dict(data, data.store.get_person(person["id"]))


def set_status(data, nik, status, until=None, since=None, at=None):
    """positive|contact: refused (BLACK) from `since` (default today) until `until` inclusive (default: until
    cleared). clear: no restriction."""
    _check_choice("status", status, policy.STATUSES)
    today = local_date(time.time() if at is None else at)
    since = parse_date(since) if since else today
    until = parse_date(until) if until else None
    if status == "clear":
        since, until = today, None
    elif until is not None and until < since:
        raise PintuError("--until %s is before %s" % (until, since))
    with data.store.write():
        person = find_person(data, nik)
        data.store.set_status(person["id"], status, since, until)
    return person_dict(data, data.store.get_person(person["id"]))


# -- bulk import

ImportReport = namedtuple("ImportReport", ("rows", "imported", "bad"))
ImportReport.__doc__ = "rows: data rows read; imported: rows written; bad: [(line number, message)]"


def _row_error(row):
    """Validate one CSV row (a dict). -> (parsed tuple, None) or (None, message)."""
    try:
        nik = normalise_nik(row.get("nik") or "")
        name = _check_name(row.get("name"))
        role = (row.get("role") or "visitor").strip().lower()
        _check_choice("role", role, policy.ROLES)
        doses = []
        for column in ("dose1", "dose2", "dose3"):
            value = (row.get(column) or "").strip()
            if value:
                if len(doses) != int(column[-1]) - 1:
                    raise PintuError("%s given without the earlier dose" % column)
                day = parse_date(value)
                if doses and day < doses[-1]:
                    raise PintuError("%s is before the previous dose" % column)
                doses.append(day)
        status = (row.get("status") or "clear").strip().lower()
        _check_choice("status", status, policy.STATUSES)
        until = (row.get("status_until") or "").strip()
        until = parse_date(until) if until else None
        if until and status == "clear":
            raise PintuError("status_until given for status clear")
    except PintuError as exc:
        return None, str(exc)
    return (nik, name, role, doses, status, until), None


def read_import_file(path):
    """Open a persons CSV. -> (rows iterator of (line number, dict), total data rows)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            total = max(sum(1 for _ in f) - 1, 0)
    except OSError as exc:
        raise PintuError("cannot read %s: %s" % (path, exc.strerror)) from None
    except UnicodeDecodeError:
        raise PintuError("%s is not UTF-8 text" % path) from None

    def rows():
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [name.strip().lower() for name in (reader.fieldnames or [])]
            if "nik" not in header:
                expected = ",".join(IMPORT_COLUMNS)
                raise PintuError("%s: no header row with a 'nik' column (expected %s)" % (path, expected))
            unknown = [name for name in header if name not in IMPORT_COLUMNS]
            if unknown:
                raise PintuError("%s: unknown column(s) %s" % (path, ", ".join(unknown)))
            reader.fieldnames = header
            for row in reader:
                yield reader.line_num, row

    return rows(), total


def import_persons(data, rows, skip_bad=False, progress=None, at=None):
    """Validate every row, then write them all in one transaction. rows: iterable of (line number, dict with
    IMPORT_COLUMNS). A row whose NIK is already known updates that person (name, role, doses, status).
    With bad rows nothing is written unless skip_bad. progress(n) is called as rows are checked.
    -> ImportReport; raises PintuError (with .report) when bad rows stop the import."""
    now = time.time() if at is None else at
    today = local_date(now)
    hash_nik = data.nik.hash_valid
    persons, doses, bad, seen = [], [], [], {}
    count = 0
    for line, row in rows:
        count += 1
        parsed, error = _row_error(row)
        if parsed is not None:
            nik, name, role, dose_days, status, until = parsed
            if nik in seen:
                parsed, error = None, "NIK repeats line %d" % seen[nik]
            else:
                seen[nik] = line
        if parsed is None:
            bad.append((line, error))
        else:
            nik_hash = hash_nik(nik)
            persons.append((nik_hash, name, role, status, None if status == "clear" else today, until))
            for number, day in enumerate(dose_days, 1):
                doses.append((nik_hash, number, day))
        if progress is not None and count % 1000 == 0:
            progress(1000)
    if progress is not None and count % 1000:
        progress(count % 1000)
    report = ImportReport(count, 0 if (bad and not skip_bad) else len(persons), bad)
    if bad and not skip_bad:
        error = PintuError(
            "%d bad row(s); nothing imported (fix them, or use --skip-bad to import the %d good rows)"
            % (len(bad), len(persons))
        )
        error.report = report
        raise error
    with data.store.write():
        data.store.import_persons(persons, doses, now)
    return report
