"""What a late message may still change in the record: replays respect time (issue 13).

A unit replays as QUEUED every scan it did not show (it showed OFFLINE), stamped with the time it read the code. Two
rules keep the count equal to the people inside, whatever order scans, resends and replays arrive in:

- An admission the unit never showed is undone (the door stayed shut) only while nothing relies on it: its visit is
  still the open one and no later live admission of that person at that site was recorded (a rescan admitted under
  soft anti-passback went in on the strength of that visit).
- An exit closes the open visit only if it was read no earlier than the visit's check-in and no live admission of
  that person at that site came after it: a queued exit from before a later entry closes nothing (it is recorded).
  The database refuses check_out < check_in on its own too (a trigger, data/schema.py).
"""

import logging

from pintu.checkin import holds
from pintu_protocol.verdicts import GREEN, HOLD, OFFLINE, R_ALREADY_INSIDE, R_NOT_SHOWN, YELLOW

log = logging.getLogger("pintu.checkin")

ADMISSIONS = (GREEN, YELLOW)  # the verdicts of a live event that let someone in (a guard's confirmation is GREEN)


def exit_closes(store, visit, person_id, site_id, at):
    """Whether an exit read at `at` closes the open visit (see the module's second rule)."""
    if int(at) < visit["check_in"]:
        return False
    return not store.admitted_after_time(person_id, site_id, at, ADMISSIONS)


def undo_unseen(store, event, at):
    """A unit replays as QUEUED a scan this host had already decided live: the unit gave up waiting and showed
    OFFLINE, so the door stayed shut. An admission it opened is closed where it began (nobody went in), a place it
    held for the guard is released, and the record says so with an OFFLINE/not_shown event. Harmless when replayed
    again; nothing is undone that a later admission relies on."""
    if event["queued"] or event["person_id"] is None or event["site_id"] is None:
        return
    site = store.get_site(event["site_id"])
    if site is None:
        return
    if event["verdict"] == HOLD:
        hold = store.hold_of_event(event["id"])
        if hold is None or not store.settle_hold(hold["id"], at, "not_shown"):
            return  # confirmed, refused or expired meanwhile: settled by then, nothing to release
    else:
        if event["verdict"] not in ADMISSIONS or event["reason"] == R_ALREADY_INSIDE:
            return
        visit = store.find_open_visit(event["person_id"], event["site_id"])
        if visit is None or visit["check_in"] != event["time"] or visit["door_in"] != event["door_id"]:
            return  # they have left since, or came in again another way: nothing to undo
        if store.admitted_after_event(event["person_id"], event["site_id"], event["id"], ADMISSIONS):
            return  # a later admission went in on this visit: the person is inside
        store.close_visit(visit["id"], event["site_id"], visit["check_in"], "not_shown", event["door_id"])
    holds.record(store, site, at, event["door_id"], event["device_id"], OFFLINE, R_NOT_SHOWN, event["person_id"],
                 "door", None, queued=True)
    log.warning("%s: scan shown as OFFLINE had been decided; its admission is undone", event["device_id"])
