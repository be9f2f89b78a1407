"""What a late message may still change in the record: replays respect time (issue 13).

A unit replays as QUEUED every scan it did not show (it showed OFFLINE), stamped with the time it read the code.
Whatever order live scans, resends and replays arrive in, the count must end equal to the people inside, so the
person's open visit is reconciled after every replay (`reconcile`):

- A visit stands while some live admission of the person at the site since it began was (as far as the host knows)
  shown: the admission that opened it, or a later one that went in on it (a rescan let in under soft
  anti-passback). A replay marks its scan unshown; once none is left, the visit is undone: closed where it began
  (nobody went in) with an OFFLINE/not_shown event.
- An exit replayed from a queue closes the visit at the time the code was read, but only if it was read after the
  last shown admission (so never before the visit's check-in: an old queued exit closes nothing that began after
  it, and a person let in again after it stays counted). Until then it is recorded only.
The database refuses check_out < check_in on its own too (a trigger, data/schema.py).
"""

import logging

from pintu.checkin import holds
from pintu_protocol.verdicts import EXIT, GREEN, HOLD, OFFLINE, R_NOT_SHOWN, YELLOW

log = logging.getLogger("pintu.checkin")

ADMISSIONS = (GREEN, YELLOW)  # the verdicts of a live event that let someone in (a guard's confirmation is GREEN)


def exit_closes(store, visit, person_id, site_id, at, queued):
    """Whether an exit read at `at` closes the open visit now (see the module's second rule). A live exit is read
    now: nothing shown can have come after it. Whole seconds: an exit in the second of an admission comes after it."""
    if int(at) < visit["check_in"]:
        return False
    if not queued:
        return True
    last = store.last_shown_admission(person_id, site_id, visit["check_in"], ADMISSIONS)
    return last is None or last <= int(at)


def replayed(store, event, source, scan_ref, at):
    """A unit replays as QUEUED a scan this host had already decided live: the unit gave up waiting and showed
    OFFLINE, so the door stayed shut. A place it held for the guard is released; an admission it made stands only
    while another shown admission relies on the same visit (reconcile). Harmless when replayed again."""
    if event["queued"] or event["person_id"] is None or event["site_id"] is None:
        return
    store.mark_unshown(source, scan_ref)
    site = store.get_site(event["site_id"])
    if site is None:
        return
    if event["verdict"] == HOLD:
        hold = store.hold_of_event(event["id"])
        if hold is not None and store.settle_hold(hold["id"], at, "not_shown"):
            _not_shown(store, site, event["door_id"], event["device_id"], event["person_id"], at)
        return  # confirmed, refused or expired meanwhile: settled by then, nothing to release
    reconcile(store, site, event["person_id"], at, event["device_id"])


def reconcile(store, site, person_id, at, device_id=None):
    """Bring the person's open visit at the site in line with what units showed (the module's two rules)."""
    visit = store.find_open_visit(person_id, site["id"])
    if visit is None:
        return
    last = store.last_shown_admission(person_id, site["id"], visit["check_in"], ADMISSIONS)
    if last is None:
        store.close_visit(visit["id"], site["id"], visit["check_in"], "not_shown", visit["door_in"])
        _not_shown(store, site, visit["door_in"], device_id, person_id, at)
        return
    exit_event = store.first_queued_exit(person_id, site["id"], last, EXIT)
    if exit_event is not None:
        store.close_visit(visit["id"], site["id"], exit_event["time"], "door", exit_event["door_id"])


def _not_shown(store, site, door_id, device_id, person_id, at):
    holds.record(store, site, at, door_id, device_id, OFFLINE, R_NOT_SHOWN, person_id, "door", None, queued=True)
    log.warning("%s: a scan shown as OFFLINE had been decided; what it changed is undone", device_id or "-")
