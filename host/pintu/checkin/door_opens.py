"""Opening the door for a YELLOW a guard confirmed by hand (issue 19): `pintu confirm` or the console.

A guard who scans their own card at the unit gets the GREEN at once, in answer to that scan. A confirmation by hand
runs in another process (the CLI, the web console), which cannot reach the unit: it records, in the confirmation's
own transaction (holds.confirm), that the door must open for the scan that showed the HOLD — the unit's scan id, its
device, and a deadline — on the holds row. Every gateway worker looks for such rows every PUSH_EVERY_S (one indexed
query, gateway.Gateway.push_opens), claims each one for a unit it has heard in a one-row write transaction (a
conditional UPDATE: with several workers on one database exactly one wins), and sends the unit a VERDICT for the held
scan: GREEN/guard_confirmed. The unit opens the door once if that scan is the HOLD it last showed (firmware/app.py).
The database is the only channel, so this works from any process, on SQLite and on PostgreSQL alike.

Never a late door: an open is sent only until OPEN_WINDOW_S after the confirmation, and never after the hold itself
would have ended. A door opening minutes later, for nobody, lets in whoever stands there; past the deadline the open
is dropped (logged at INFO, ids only) and the record still says the visitor was confirmed and admitted — the guard,
who is there, lets them through by hand.
"""

import logging
import sqlite3
from collections import namedtuple

from pintu_protocol.verdicts import HOLD

log = logging.getLogger("pintu.door_opens")

OPEN_WINDOW_S = 15  # a visitor waits at the door this long after the guard says yes; after it, nobody is sure to
PUSH_EVERY_S = 0.2  # how often a worker looks: a confirmation opens the door within about this (plus a frame)

SENT = "sent"
LATE = "late"

Open = namedtuple("Open", ("hold", "device", "scan", "occupancy", "capacity", "shown"))


def request(store, site_row, hold, event_id, at):
    """Inside the confirmation's transaction: the door of the unit that showed this hold opens for its scan.
    -> the deadline (epoch seconds), or None when no unit is there to open (a hold made at a door without a unit,
    or a scan the unit said it never showed)."""
    if hold["device_id"] is None:
        return None
    # The scan that showed the HOLD at the unit the visitor stands at now (a rescan moves the hold: hold_place).
    scan_ref = store.held_scan("device:" + hold["device_id"], hold["person_id"], site_row["id"], hold["created"],
                               HOLD)
    if scan_ref is None:
        return None
    # Never a late door (this module's doc): OPEN_WINDOW_S after the confirmation, and not past the hold's own end.
    until = min(int(at) + OPEN_WINDOW_S, int(hold["expires"]))
    store.request_open(hold["id"], scan_ref, event_id, until)
    return until


def claim(store, devices, now):
    """The door opens this worker sends now: those due to a unit in `devices` (the units it can reach), each claimed
    in its own transaction so that exactly one worker gets it. Opens past their deadline are dropped by whichever
    worker sees them first. Called outside any transaction. -> [Open]."""
    rows = store.pending_opens()  # no transaction, no lock: nearly always empty
    claimed = []
    for row in rows:
        late = now > row["open_until"]
        if not late and row["device_id"] not in devices:
            continue  # another worker heard that unit last (a serial unit is reachable on its own port only)
        try:
            with store.row_write():
                won = store.finish_open(row["id"], now, LATE if late else SENT)
        except sqlite3.Error as e:  # what was claimed is still sent; the rest waits for the next look
            log.error("storage failed (%s): door opens wait until it works again", e)
            break
        if not won:
            continue  # another worker claimed it first
        if late:
            log.info("hold %d: door open for %s scan %d dropped, past its deadline", row["id"], row["device_id"],
                     row["open_scan"])
        else:
            claimed.append(Open(row["id"], row["device_id"], row["open_scan"], row["occupancy"] or 0,
                                row["capacity"] or 0, row["shown"] or ""))
    return claimed


def not_sent(store, hold_id):
    """The link could not send a claimed open at once (the broker connection is down, the port closed): it is
    pending again, and the next look tries again until the deadline. Never queued in a link for later: a door open
    that waits in a client's queue for a reconnection arrives late (reply(frame, now=True))."""
    with store.row_write():
        store.unclaim_open(hold_id)
