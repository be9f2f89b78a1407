"""The append-only decision record: listing it for operators and purging what is past retention."""

import csv
import io
import time
from datetime import date, datetime

from pintu.checkin.occupancy import close_overdue
from pintu.errors import PintuError
from pintu.registry.validate import check_count, parse_date, parse_duration, parse_time
from pintu.rules.policy import admitted
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


# The CSV export's columns (`pintu events --csv` and the console's export): every key of event_dict, in its order.
CSV_COLUMNS = ("id", "time", "site", "door", "device", "verdict", "reason", "person", "how", "operator", "flagged",
               "occupancy", "queued")


def events_csv(rows):
    """list_events' rows as CSV text: a header, then one line per event (with a name column if they carry one).
    Read back with csv.DictReader, each field is str(value) of the JSON (`pintu events --json`), "" for null."""
    keys = list(CSV_COLUMNS) + (["name"] if rows and "name" in rows[0] else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow(["" if row.get(key) is None else row.get(key) for key in keys])
    return out.getvalue()


def list_events(data, site=None, since=None, verdict=None, limit=100, at=None, names=False):
    """Newest first. since: ISO date/time or a duration back from now ('2h'); verdict: a name (GREEN...).
    names: add each person's name (only when the operator asks: the record itself keeps ids)."""
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
    out = [event_dict(row) for row in rows]
    if names:
        known = data.store.names_of(row["person"] for row in out)
        for row in out:
            row["name"] = known.get(row["person"], "")
    return out


def day_report(data, day):
    """Counts of one local calendar day: per site, by hour and verdict, and refusals by reason.
    -> {"day", "sites": [{"site", "total", "admitted", "refused", "by_hour": {hour: {verdict: n}},
    "by_verdict": {verdict: n}, "refusals": {reason: n}}]}"""
    day = parse_date(day, "--day")
    start = int(datetime.combine(date.fromisoformat(day), datetime.min.time()).timestamp())
    sites = {}
    for row in data.store.event_counts(start, start + 86400):
        name = verdict_name(row["verdict"])
        site = sites.setdefault(row["site_id"], {"site": row["site_id"], "total": 0, "admitted": 0, "refused": 0,
                                                 "by_hour": {}, "by_verdict": {}, "refusals": {}})
        site["total"] += row["n"]
        hour = site["by_hour"].setdefault("%02d" % row["hour"], {})
        hour[name] = hour.get(name, 0) + row["n"]
        site["by_verdict"][name] = site["by_verdict"].get(name, 0) + row["n"]
        if admitted(row["verdict"]):
            site["admitted"] += row["n"]
        else:
            site["refused"] += row["n"]
            reason = reason_name(row["reason"])
            site["refusals"][reason] = site["refusals"].get(reason, 0) + row["n"]
    return {"day": day, "sites": [sites[key] for key in sorted(sites, key=lambda k: (k is None, k or ""))]}


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
