"""Persons: their NIK (kept only as a keyed hash), role, doses and health status, one at a time or imported from CSV."""

import csv
import time
from collections import namedtuple

from pintu.errors import PintuError
from pintu.registry.validate import check_choice, check_name
from pintu.rules import policy
from pintu.rules.nik import normalise_nik
from pintu.times import local_date, parse_date

IMPORT_COLUMNS = ("nik", "name", "role", "dose1", "dose2", "dose3", "status", "status_until")


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
    check_choice("role", role, policy.ROLES)
    with data.store.write():
        person_id = data.store.insert_person(nik_hash, check_name(name), role, int(time.time()))
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
    check_choice("status", status, policy.STATUSES)
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
        name = check_name(row.get("name"))
        role = (row.get("role") or "visitor").strip().lower()
        check_choice("role", role, policy.ROLES)
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
        check_choice("status", status, policy.STATUSES)
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
