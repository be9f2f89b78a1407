"""The append-only decision record: listing it for operators and purging what is past retention."""

import time

from pintu.checkin.occupancy import close_overdue
from pintu.errors import PintuError
from pintu.registry.validate import parse_duration, parse_time
from pintu.times import show_time
from pintu_protocol.verdicts import VERDICTS, reason_name, verdict_name

_VERDICT_BY_NAME = {entry[0]: code for code, entry in VERDICTS.items()}


def verdict_code(name):
    code = _VERDICT_BY_NAME.get(str(name).strip().upper())
    if code is None:
        raise PintuError("unknown verdict %r (one of %s)" % (name, ", ".join(_VERDICT_BY_NAME)))
    return code


def event_dict(row):
    return {
        "id": row["id"],
        "time": show_time(row["time"]),
        "site": row["site_id"],
        "door": row["door_id"],
        "device": row["device_id"],
        "verdict": verdict_name(row["verdict"]),
        "reason": reason_name(row["reason"]),
        "person": row["person_id"],
        "how": row["how"],
        "operator": row["operator"],
        "flagged": bool(row["flagged"]),
        "occupancy": row["occupancy"],
        "queued": bool(row["queued"]),
    }


def list_events(data, site=None, since=None, verdict=None, limit=100, at=None):
    """Newest first. since: ISO date/time or a duration back from now ('2h'); verdict: a name (GREEN...)."""
    now = time.time() if at is None else at
    if site is not None and data.store.get_site(site) is None:
        raise PintuError("unknown site %r" % site)
    if limit is not None and limit < 1:
        raise PintuError("--limit must be at least 1")
    rows = data.store.list_events(
        site_id=site,
        since=None if since is None else parse_time(since, now),
        verdict=None if verdict is None else verdict_code(verdict),
        limit=limit,
    )
    return [event_dict(row) for row in rows]


def purge(data, older_than, at=None):
    """Delete events, finished visits and resent-scan records older than `older_than` (e.g. '30d').
    Visits still open (within the maximum stay) are kept. -> {"cutoff", "events", "visits", "scans"}."""
    now = time.time() if at is None else at
    cutoff = int(now - parse_duration(older_than))
    store = data.store
    with store.write():
        close_overdue(store, now)  # overdue visits end at their maximum stay, and can then be purged
        counts = store.purge(cutoff)
    counts["cutoff"] = show_time(cutoff)
    return counts
