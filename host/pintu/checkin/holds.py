"""Places held for the guard's check: a YELLOW waits, the door shut, until a guard confirms it, refuses it, or the
site's hold time passes and the place is released (issue 13, "The guard's confirmation").

A hold counts against capacity (policy.SiteState.held) but nobody is inside until it is confirmed: confirming opens
the visit then, at the door the visitor stands at. A guard confirms by scanning their own card (credentials.GUARD)
at the unit where the YELLOW was shown, within the hold time: the newest pending hold at that unit becomes GREEN and
the door opens once; a guard's card with nothing pending there admits nobody (GUARD_IDLE). `pintu confirm` and
`pintu refuse` do the same by NIK from the CLI (and the console): a confirmation by hand also records that the door
of the unit the visitor waits at must open, which a gateway worker then sends it (door_opens.py). Every step is an
event: HOLD/guard_check when the place is held, GREEN/guard_confirmed with the guard as operator, HOLD/guard_refused
or HOLD/hold_expired when the place is released. All of it runs inside the caller's write transaction (decide.py),
like every other change to who is inside.
"""

import time

from pintu.checkin import door_opens
from pintu.errors import PintuError
from pintu.rules import policy
from pintu.times import day_number, local_date, show_time
from pintu_protocol.verdicts import (
    FULL,
    GREEN,
    GUARD_IDLE,
    HOLD,
    INVALID,
    R_ALREADY_INSIDE,
    R_GUARD_CONFIRMED,
    R_GUARD_REFUSED,
    R_HOLD_EXPIRED,
    R_NOT_YET_VALID,
    R_NOTHING_PENDING,
    R_REVOKED,
    R_SITE_FULL,
    R_UNKNOWN,
)

GUARD_OPERATOR = "guard:%d"  # how events name a guard: by id, never by name (events carry ids)
GUARD_IDLE_SHOW = "Nothing waiting for the guard"


def guard_operator(guard_row):
    return GUARD_OPERATOR % guard_row["id"]


def record(store, site_row, at, door_id, device_id, verdict, reason, person_id, how, operator, queued=False,
           show=""):
    """One event of the hold's life. -> (event id, occupancy)."""
    occupancy = store.count_inside(site_row["id"])
    event_id = store.insert_event(
        at, site_row["id"], door_id, device_id, verdict, reason, person_id, how, operator, False, occupancy,
        site_row["capacity"], policy.printable(show), queued,
    )
    return event_id, occupancy


def expire(store, site_row, at):
    """Release every place at the site whose hold time passed before `at`; each release is an event at the moment
    the hold ran out. Called first by every decision at the site, so an expired hold never blocks a place."""
    for hold in store.holds_expired_by(site_row["id"], int(at)):
        store.settle_hold(hold["id"], hold["expires"], "expired")
        record(store, site_row, hold["expires"], hold["door_id"], hold["device_id"], HOLD, R_HOLD_EXPIRED,
               hold["person_id"], "door", None)


def hold_place(store, site_row, person_id, role, door_id, device_id, at, event_id, own_hold=None):
    """A YELLOW decided live: hold a place for the site's hold time. Someone already holding one is only moved to
    the unit they now stand at (the hold time is not extended: a rescan cannot keep a place for ever)."""
    if own_hold is not None:
        store.move_hold(own_hold["id"], door_id, device_id)
        return own_hold["id"]
    return store.insert_hold(site_row["id"], person_id, role, door_id, device_id, event_id, int(at),
                             int(at) + int(site_row["hold_s"]))


def confirm(store, site_row, hold, at, how, operator, device_id=None):
    """A guard confirmed a pending hold: the visitor is admitted now (GREEN), at the door they wait at. By hand
    (how "manual"), the unit there is told to open its door (door_opens.py); a guard's card there gets the GREEN as
    the answer to its own scan. -> (verdict, reason, person id, event id, occupancy)."""
    site_id = site_row["id"]
    person_id = hold["person_id"]
    door_id = hold["door_id"]
    if store.find_open_visit(person_id, site_id) is not None:
        # Let in another way meanwhile (`pintu admit`): the hold has nothing left to do. Anti-passback still
        # holds: the door does not open a second time for someone the record has inside.
        store.settle_hold(hold["id"], at, "replaced", operator)
        verdict, reason = INVALID, R_ALREADY_INSIDE
    elif store.count_inside(site_id) >= site_row["capacity"]:
        # Only if the operator lowered the capacity under the held place: capacity still wins.
        store.settle_hold(hold["id"], at, "refused", operator)
        verdict, reason = FULL, R_SITE_FULL
    else:
        store.settle_hold(hold["id"], at, "confirmed", operator)
        store.open_visit(person_id, site_id, hold["role"], int(at), how, door_id, operator)
        verdict, reason = GREEN, R_GUARD_CONFIRMED
    event_id, occupancy = record(store, site_row, at, door_id, device_id, verdict, reason, person_id, how, operator)
    if verdict == GREEN and how == "manual":
        door_opens.request(store, site_row, hold, event_id, at)
    return verdict, reason, person_id, event_id, occupancy


def refuse(store, site_row, hold, at, operator):
    """A guard refused a pending hold (`pintu refuse`): the place is released. -> (event id, occupancy)."""
    store.settle_hold(hold["id"], at, "refused", operator)
    return record(store, site_row, at, hold["door_id"], None, HOLD, R_GUARD_REFUSED, hold["person_id"], "manual",
                  operator)


def guard_card(store, site_row, guard_row, issue_day, door_id, device_id, at, queued):
    """A guard's card scanned at a door. -> (verdict, reason, person id, event id, occupancy, show).

    Refused (INVALID, the door stays shut) when the card is unknown, revoked, not yet valid or of another site's
    guard: the same checks as a visitor's card (decide._resolve). A queued replay confirms nothing: the moment
    passed and the door did not open then."""
    operator = guard_operator(guard_row) if guard_row is not None else None
    if guard_row is None or guard_row["site_id"] != site_row["id"]:
        reason = R_UNKNOWN  # a guard answers for their own site only (issue 13: "guard add NAME --site SITE")
    elif guard_row["revoked"] is not None:
        reason = R_REVOKED
    elif issue_day > day_number(local_date(at)) + 1:  # as for visitors' cards: a day of slack around midnight
        reason = R_NOT_YET_VALID
    else:
        reason = None
    if reason is not None:
        event_id, occupancy = record(store, site_row, at, door_id, device_id, INVALID, reason, None, "door", operator,
                                     queued, policy.SHOW[INVALID])
        return INVALID, reason, None, event_id, occupancy, policy.SHOW[INVALID]
    hold = None if queued else store.pending_hold_at(site_row["id"], device_id, door_id)
    if hold is None:
        event_id, occupancy = record(store, site_row, at, door_id, device_id, GUARD_IDLE, R_NOTHING_PENDING, None,
                                     "door", operator, queued, GUARD_IDLE_SHOW)
        return GUARD_IDLE, R_NOTHING_PENDING, None, event_id, occupancy, GUARD_IDLE_SHOW
    verdict, reason, person_id, event_id, occupancy = confirm(store, site_row, hold, at, "door", operator, device_id)
    return verdict, reason, person_id, event_id, occupancy, policy.SHOW.get(verdict, "")


def pending(data, site, at=None):
    """The places held for the guard at a site now (expired ones released first), oldest first:
    [{"hold", "person", "door", "device", "since", "expires"}] (`pintu holds`)."""
    at = time.time() if at is None else at
    store = data.store
    with store.write():
        site_row = store.get_site(site)
        if site_row is None:
            raise PintuError("unknown site %r" % site)
        expire(store, site_row, at)
        rows = store.pending_holds(site_row["id"])
    return [{"hold": row["id"], "person": row["person_id"], "door": row["door_id"], "device": row["device_id"],
             "since": show_time(row["created"]), "expires": show_time(row["expires"])} for row in rows]
