"""Persons: their NIK (kept only as a keyed hash), role, doses and health status, one at a time (the CSV import is
person_import.py)."""

import time

from pintu.errors import PintuError
from pintu.registry.validate import check_choice, check_dose_date, check_name, parse_date
from pintu.rules import policy
from pintu.rules.nik import normalise_nik
from pintu.times import local_date


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


def list_persons(data, site=None, status=None, at=None):
    """Registry persons (not EU certificate holders), optionally only those holding a card for `site` or with
    `status`. -> [{"person", "name", "role", "status", "status_active", "doses", "cards"}]."""
    if site is not None and data.store.get_site(site) is None:
        raise PintuError("unknown site %r" % site)
    if status is not None:
        check_choice("status", status, policy.STATUSES)
    today = local_date(time.time() if at is None else at)
    return [
        {
            "person": row["id"],
            "name": row["name"],
            "role": row["role"],
            "status": row["status"],
            "status_active": row["status"] != "clear"
            and policy.in_window(row["status_since"], row["status_until"], today),
            "doses": row["doses"],
            "cards": row["cards"],
        }
        for row in data.store.list_persons(site, status)
    ]


def show_person(data, nik):
    return person_dict(data, find_person(data, nik))


def add_dose(data, nik, day, vaccine="", at=None):
    day = check_dose_date(day, local_date(time.time() if at is None else at))
    vaccine = check_name(vaccine, "vaccine")
    with data.store.write():
        person = find_person(data, nik)
        dates = data.store.dose_dates(person["id"])
        if dates and day < max(dates):
            raise PintuError("dose date %s is before the previous dose (%s)" % (day, max(dates)))
        data.store.add_dose(person["id"], day, vaccine or "")
    return person_dict(data, data.store.get_person(person["id"]))


def remove_dose(data, nik, number=None):
    """Delete a dose recorded in error (default: the last one); later doses move down one number."""
    with data.store.write():
        person = find_person(data, nik)
        count = len(data.store.dose_dates(person["id"]))
        if count == 0:
            raise PintuError("the person has no dose recorded")
        number = count if number is None else number
        if not 1 <= number <= count:
            raise PintuError("no dose %s (the person has %d)" % (number, count))
        data.store.remove_dose(person["id"], number)
    return person_dict(data, data.store.get_person(person["id"]))


def set_status(data, nik, status, until=None, since=None, at=None):
    """positive|contact: refused (BLACK) from `since` (default today) until `until` inclusive (default: until
    cleared). clear: no restriction."""
    check_choice("status", status, policy.STATUSES)
    today = local_date(time.time() if at is None else at)
    since = parse_date(since, "--since") if since else today
    until = parse_date(until, "--until") if until else None
    if status == "clear":
        since, until = today, None
    elif until is not None and until < since:
        raise PintuError("--until %s is before %s" % (until, since))
    with data.store.write():
        person = find_person(data, nik)
        data.store.set_status(person["id"], status, since, until)
    return person_dict(data, data.store.get_person(person["id"]))
