"""Deciding a scan and recording it: one transaction for decision, visit, held place and event. A guard's manual
entry, exit and answer to a YELLOW (manual.py) run through the same _decide_at_site.

This is the library API the CLI (`pintu check`) and the gateway call. The transaction
is taken at once (BEGIN IMMEDIATE), so two doors of one site deciding at the same moment are serialised and capacity
holds. If storage fails the decision fails closed: INVALID with reason R_HOST_FAULT, and nothing opens. Late replays
follow replays.py; places held for the guard, holds.py.
"""

import logging
import sqlite3
import time
from collections import namedtuple
from datetime import datetime, timezone

from pintu.checkin import codes, holds, replays
from pintu.checkin.occupancy import close_overdue
from pintu.errors import PintuError
from pintu.rules import eu_rules, policy
from pintu.rules.credentials import GUARD
from pintu.times import day_number, local_date
from pintu_protocol.messages import IN, OUT
from pintu_protocol.verdicts import (
    HOLD,
    INVALID,
    R_HOST_FAULT,
    R_NOT_INSIDE,
    R_NOT_YET_VALID,
    R_OK,
    R_REVOKED,
    R_UNKNOWN,
    R_WRONG_DOOR,
    reason_name,
    verdict_name,
)

log = logging.getLogger("pintu.checkin")

_DecisionBase = namedtuple(
    "_DecisionBase",
    ("verdict", "reason", "site", "occupancy", "capacity", "referral", "person_id", "door", "event_id", "flagged"),
)


class Decision(_DecisionBase):
    """One decision. referral: what the door shows with the colour (the clinic for RED). event_id is None when
    nothing was recorded (dry run, host fault)."""

    __slots__ = ()

    @property
    def admitted(self):
        return policy.admitted(self.verdict)

    @property
    def verdict_name(self):
        return verdict_name(self.verdict)

    @property
    def reason_name(self):
        return reason_name(self.reason)

    def to_dict(self):
        return {
            "verdict": self.verdict_name,
            "reason": self.reason_name,
            "site": self.site,
            "occupancy": self.occupancy,
            "capacity": self.capacity,
            "referral": self.referral,
            "person": self.person_id,
            "door": self.door,
            "admitted": self.admitted,
            "event": self.event_id,
        }


def host_fault(door=None):
    return Decision(INVALID, R_HOST_FAULT, None, None, None, policy.SHOW[INVALID], None, door, None, False)


def person_state(store, person_row, dose_dates=None):
    """dose_dates: the person's, when the caller read them with the row (store.card_holder)."""
    return policy.PersonState(
        person_row["role"],
        tuple(store.dose_dates(person_row["id"]) if dose_dates is None else dose_dates),
        person_row["status"],
        person_row["status_since"],
        person_row["status_until"],
    )


def site_state(site_row, inside, held=0):
    return policy.SiteState(
        site_row["policy"],
        site_row["capacity"],
        inside,
        bool(site_row["yellow_admits"]),
        site_row["referral"],
        bool(site_row["accept_tests"]),
        site_row["anti_passback"],
        held,
    )


def _from_event(row):
    return Decision(
        row["verdict"],
        row["reason"],
        row["site_id"],
        row["occupancy"],
        row["capacity"],
        row["shown"],
        row["person_id"],
        row["door_id"],
        row["id"],
        bool(row["flagged"]),
    )


def _resolve(store, reading, today, at):
    """Reading -> (person id or None, PersonState or None, refusal reason or None). A refused code that still
    identifies someone (a revoked card, an expired certificate) gives their id: an exit needs only that."""
    if reading.reason != R_OK:
        if reading.certificate is not None:  # verified but refused (expired): known only if seen before
            row = store.find_person(bytes.fromhex(reading.certificate.holder_id))
            return (row["id"] if row is not None else None), None, reading.reason
        return None, None, reading.reason
    if reading.certificate is not None:
        return _holder(store, reading.certificate, at), None, None
    card, dose_dates = store.card_holder(reading.cred_id)  # revocation is read at every scan, never remembered
    if card is None:
        return None, None, R_UNKNOWN
    if card["card_revoked"] is not None:
        return card["card_person"], None, R_REVOKED
    if reading.issue_day > day_number(today) + 1:  # a day of slack for clocks around midnight
        return card["card_person"], None, R_NOT_YET_VALID
    if card["id"] is None:
        return None, None, R_UNKNOWN
    return card["id"], person_state(store, card, dose_dates), None


CERTIFICATE_ROLE = "visitor"  # someone known only by the EU certificate they carry


def _holder(store, certificate, at):
    """The person row standing for an EU certificate's holder: keyed by the HMAC of the certificate id (no name,
    no birth date), made on the first scan, so occupancy, exits and traces work as for anyone else."""
    key = bytes.fromhex(certificate.holder_id)
    row = store.find_person(key)
    if row is None:
        return store.insert_holder(key, int(at))  # role CERTIFICATE_ROLE; purged with its last event (issue 15)
    return row["id"]


def _decide_at_site(
    store,
    site_row,
    person_id,
    state,
    refusal,
    direction,
    at,
    how,
    door_id=None,
    device_id=None,
    operator=None,
    queued=False,
    certificate=None,
):
    """The locked part: close stale visits, release expired holds, decide, apply, record. Runs inside store.write().
    how "manual" is a guard entering or letting out someone by hand: a YELLOW needs no further confirmation."""
    site_id = site_row["id"]
    today = local_date(at)
    close_overdue(store, at, site_row)
    holds.expire(store, site_row, at)
    inside, pending = store.site_load(site_id)
    visit = own_hold = None
    if person_id is not None:
        visit = store.find_open_visit(person_id, site_id)
        own_hold = store.pending_hold_of(person_id, site_id)
    held = pending - (own_hold is not None)  # their own held place is theirs to take
    if refusal is not None:
        if direction == OUT and person_id is not None:
            outcome = policy.exit_outcome(visit is not None, refusal)  # exits always work, flagged
        else:
            outcome = policy.refuse_code(refusal)
    else:
        standing = None
        if certificate is not None:  # judged by the same policy.decide as a card, from the certificate's own standing
            standing = eu_rules.standing(certificate, now=datetime.fromtimestamp(at, timezone.utc))
        outcome = policy.decide(state, site_state(site_row, inside, held), direction, today, visit is not None,
                                standing, guard_present=how == "manual")
    closes = visit is not None and replays.exit_closes(store, visit, person_id, site_id, at, queued)
    if outcome.check_out and not closes:
        # An exit read before this visit began, or before a later shown admission (a late queued replay), is
        # recorded and closes nothing (replays.py).
        outcome = outcome._replace(reason=R_NOT_INSIDE, check_out=False)
    role = state.role if state is not None else CERTIFICATE_ROLE
    occupancy = inside  # the count after this decision: what the site's row says once it changed
    if outcome.admit and visit is None and not queued:
        # A queued (offline) scan is recorded, never admitted after the fact: the door did not open then.
        occupancy = store.open_visit(person_id, site_id, role, int(at), how, door_id, operator)
        if own_hold is not None:
            store.settle_hold(own_hold["id"], at, "replaced", operator)
    elif outcome.check_out and visit is not None:
        closed = store.close_visit(visit["id"], site_id, int(at), how, door_id)
        occupancy = inside if closed is None else closed
    event_id = store.insert_event(
        at,
        site_id,
        door_id,
        device_id,
        outcome.verdict,
        outcome.reason,
        person_id,
        how,
        operator,
        outcome.alert,
        occupancy,
        site_row["capacity"],
        outcome.show,
        queued,
    )
    if outcome.verdict == HOLD and not queued:
        holds.hold_place(store, site_row, person_id, role, door_id, device_id, at, event_id, own_hold)
    if queued and direction == OUT and person_id is not None:
        replays.reconcile(store, site_row, person_id, at, device_id)  # may close the visit at this exit's read time
        occupancy = store.count_inside(site_id)
    return Decision(outcome.verdict, outcome.reason, site_id, occupancy, site_row["capacity"], outcome.show, person_id,
                    door_id, event_id, outcome.alert)


def _guard_scan(store, site_row, reading, door_id, device_id, at, queued):
    """A guard's card at a door: confirms the YELLOW held at that unit, or shows that nothing is pending."""
    close_overdue(store, at, site_row)
    holds.expire(store, site_row, at)
    guard_row = store.find_guard(reading.cred_id)
    verdict, reason, person_id, event_id, occupancy, show = holds.guard_card(
        store, site_row, guard_row, reading.issue_day, door_id, device_id, at, queued
    )
    return Decision(verdict, reason, site_row["id"], occupancy, site_row["capacity"], show, person_id, door_id,
                    event_id, False)


def decide_scan(data, code, door=None, device=None, direction=IN, at=None, scan_ref=None, queued=False, dry_run=False):
    """Decide a scanned code exactly as a door unit would get it decided, and record it.

    door or device: where the scan happened (a device is looked up to its door). direction: IN or OUT as the
    unit reports it (a one-way door overrides it). at: the scan's time (epoch seconds; default now) — a queued
    scan replayed later keeps its original time and is recorded but never opens a visit. scan_ref: the unit's
    scan number; the same (device or door, scan_ref) again returns the stored decision and counts nothing twice.
    dry_run: decide, then roll everything back. Storage failures return INVALID/R_HOST_FAULT.
    Raises PintuError only for a door id that does not exist (an operator typo, not a scan)."""
    if door is None and device is None:
        raise PintuError("a scan needs a door or a device")
    at = time.time() if at is None else at
    store = data.store
    try:
        reading = codes.read_code(data, code, at)  # the signature check runs before the lock is taken
        with store.write(rollback=dry_run):
            source = ("device:" + device) if device is not None else ("door:" + door)
            if scan_ref is not None:
                row = store.find_scan(source, scan_ref)
                if row is not None:
                    if queued and not dry_run:
                        replays.replayed(store, row, source, scan_ref, at)
                    return _from_event(row)
            if device is not None:  # sites, doors and devices: read from the registry cache (data/batching.py)
                device_row = store.cached("devices", device)
                door = device_row["door_id"] if device_row is not None else None
            if door is None:
                decision = _unbound_device(store, device, at, queued)
            else:
                door_row = store.cached("doors", door)
                if door_row is None:
                    raise PintuError("unknown door %r" % door)
                site_row = store.cached("sites", door_row["site_id"])
                if reading.kind == GUARD and reading.reason == R_OK:
                    decision = _guard_scan(store, site_row, reading, door, device, at, queued)
                else:
                    person_id, state, refusal = _resolve(store, reading, local_date(at), at)
                    direction = policy.effective_direction(door_row["direction"], direction)
                    decision = _decide_at_site(
                        store, site_row, person_id, state, refusal, direction, at, "door", door, device,
                        queued=queued, certificate=reading.certificate,
                    )
            if scan_ref is not None and not dry_run:
                store.insert_scan(source, scan_ref, decision.event_id, int(at))
    except sqlite3.Error as e:
        _storage_failed(e)
        return host_fault(door)
    return decision._replace(event_id=None) if dry_run else decision


def _unbound_device(store, device, at, queued):
    """A unit not (or no longer) bound to a door: refused, and recorded against the device alone."""
    shown = policy.SHOW[INVALID]
    event_id = store.insert_event(
        at, None, None, device, INVALID, R_WRONG_DOOR, None, "door", None, False, None, None, shown, queued
    )
    return Decision(INVALID, R_WRONG_DOOR, None, None, None, shown, None, None, event_id, False)


def check(data, door, code, direction=None, at=None, dry_run=False):
    """`pintu check`: decide a code at a door. direction None: the door's own (a two-way door means entry)."""
    door_row = data.store.get_door(door)
    if door_row is None:
        raise PintuError("unknown door %r" % door)
    return decide_scan(data, code, door=door, direction=OUT if direction == "out" else IN, at=at, dry_run=dry_run)


def _storage_failed(error):
    # The reason goes to the log (and, from the CLI, to stderr): "database or disk is full", "attempt to write a
    # readonly database"... The decision itself is INVALID/host_fault: nobody is admitted while storage fails.
    log.error("storage failed (%s): refusing, nobody is admitted until it works again", error)
