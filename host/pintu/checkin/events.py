"""The append-only decision record: listing it for operators and purging what is past retention."""

import time

from pintu.checkin.occupancy import close_overdue
from pintu.errors import PintuError
from pintu.registry.validate import check_count, parse_duration, parse_time
from pintu.times import show_time
from pintu_protocol.verdicts import VERDICTS, reason_name, verdict_name

DEFAULT_RETENTION_S = 30 * 86400  # the record of events at no site (an unknown door); sites have their own option
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
    limit = None if limit is None else check_count("--limit", limit)
    rows = data.store.list_events(
        site_id=site,
        since=None if since is None else parse_time(since, now, "--since"),
        verdict=None if verdict is None else verdict_code(verdict),
        limit=limit,
    )
    return [event_dict(row) for row in rows]


def purge(data, older_than=None, at=None, dry_run=False):
    """Delete events and finished visits older than `older_than` (e.g. '30d'), or, with None, older than each site's
    retention (events with no site: DEFAULT_RETENTION); then resent-scan records whose event is gone and EU
    certificate holders nothing refers to. Visits still open (within the maximum stay) are kept. dry_run counts
    and deletes nothing. -> {"cutoff", "events", "visits", "scans", "holders", "dry_run"}."""
    now = time.time() if at is None else at
    cutoff = None if older_than is None else int(now - parse_duration(older_than, "--older-than"))
    store = data.store
    totals = {"events": 0, "visits": 0, "scans": 0, "holders": 0}
    with store.write(rollback=dry_run):
        close_overdue(store, now)  # overdue visits end at their maximum stay, and can then be purged
        if cutoff is not None:
            steps = [(cutoff, None, True)]
        else:
            steps = [(int(now - site["retention_s"]), site["id"], False) for site in store.list_sites()]
            steps.append((int(now - DEFAULT_RETENTION_S), None, False))
        for step_cutoff, site_id, every_site in steps:
            counts = store.purge(step_cutoff, site_id, every_site)
            for key in totals:
                totals[key] += counts[key]
    totals["cutoff"] = show_time(cutoff) if cutoff is not None else "each site's retention"
    totals["dry_run"] = dry_run
    return totals
