"""What a guard does by hand, from the CLI (`pintu admit|checkout|confirm|refuse`) or the web console: let someone
without a phone in or out by NIK, and answer a YELLOW held for the guard (by NIK, or by person id from the console,
which never holds a NIK). Each runs the same locked decision as a scan (decide.py), in one transaction.
"""

import sqlite3
import time

from pintu.checkin import holds
from pintu.checkin.decide import Decision, _decide_at_site, _storage_failed, host_fault, person_state
from pintu.checkin.occupancy import close_overdue
from pintu.errors import PintuError
from pintu.registry.validate import check_count, check_name
from pintu.rules import policy
from pintu.rules.nik import normalise_nik
from pintu_protocol.messages import IN, OUT
from pintu_protocol.verdicts import HOLD


def admit(data, site, nik, operator=None, at=None, dry_run=False):
    """A guard's manual entry for someone without a phone: the same policy, recorded as manual. The guard is there,
    so a YELLOW is admitted at once (no place is held)."""
    return _by_hand(data, site, nik, IN, operator, at, dry_run)


def checkout(data, site, nik, operator=None, at=None, dry_run=False):
    """A guard's manual exit (`pintu checkout`): checks anyone out, manual admissions included, whatever their card
    or status now (flagged as at an exit door)."""
    return _by_hand(data, site, nik, OUT, operator, at, dry_run)


def _operator(operator):
    # The name a guard gives goes into the record and onto terminals: for admit, checkout, confirm and refuse alike.
    return check_name(operator, "--operator") if operator else None


def _site_row(store, site):
    site_row = store.get_site(site)
    if site_row is None:
        raise PintuError("unknown site %r" % site)
    return site_row


def _by_hand(data, site, nik, direction, operator, at, dry_run):
    operator = _operator(operator)
    nik_hash = data.nik.hash(normalise_nik(nik))
    at = time.time() if at is None else at
    store = data.store
    site_row = _site_row(store, site)
    try:
        with store.write(rollback=dry_run):
            person = store.find_person(nik_hash)
            if person is None:
                raise PintuError("no person with that NIK (add them with `pintu person add`)")
            decision = _decide_at_site(
                store, site_row, person["id"], person_state(store, person), None, direction, at, "manual",
                operator=operator,
            )
    except sqlite3.Error as e:
        _storage_failed(e)
        return host_fault()
    return decision._replace(event_id=None) if dry_run else decision


def settle_hold(data, site, nik, confirm, operator=None, at=None):
    """`pintu confirm` (confirm=True) or `pintu refuse`: the guard's answer to the YELLOW held for this person at
    the site. Confirmed: GREEN, inside now; refused: the place is released. Raises PintuError if nothing is held."""
    nik_hash = data.nik.hash(normalise_nik(nik))

    def person_of(store):
        person = store.find_person(nik_hash)
        if person is None:
            raise PintuError("no person with that NIK (add them with `pintu person add`)")
        return person

    return _settle(data, site, person_of, confirm, operator, at)


def settle_hold_of(data, site, person_id, confirm, operator=None, at=None):
    """The same answer for the person the console shows by id (its door view never holds a NIK)."""
    person_id = check_count("person id", person_id, 1, 2**62)  # a tampered form must not reach 64-bit integers

    def person_of(store):
        person = store.get_person(person_id)
        if person is None:
            raise PintuError("nothing is waiting for the guard for that person at %s" % site)
        return person

    return _settle(data, site, person_of, confirm, operator, at)


def _settle(data, site, person_of, confirm, operator, at):
    operator = _operator(operator)
    at = time.time() if at is None else at
    store = data.store
    site_row = _site_row(store, site)
    try:
        with store.write():
            person = person_of(store)
            close_overdue(store, at, site_row)
            holds.expire(store, site_row, at)
            hold = store.pending_hold_of(person["id"], site_row["id"])
            if hold is None:
                raise PintuError("nothing is waiting for the guard for that person at %s (expired, or never held)"
                                 % site_row["id"])
            if confirm:
                verdict, reason, _, event_id, occupancy = holds.confirm(store, site_row, hold, at, "manual", operator)
            else:
                verdict, reason = HOLD, holds.R_GUARD_REFUSED
                event_id, occupancy = holds.refuse(store, site_row, hold, at, operator)
    except sqlite3.Error as e:
        _storage_failed(e)
        return host_fault()
    return Decision(verdict, reason, site_row["id"], occupancy, site_row["capacity"], policy.SHOW.get(verdict, ""),
                    person["id"], hold["door_id"], event_id, False)
