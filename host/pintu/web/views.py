"""What each console page shows, gathered from the library (checkin, registry) for one account and language: the
routes in app.py only pick the page and render it. No decision is taken here."""

import time
from datetime import datetime

from pintu.checkin import events, holds, occupancy
from pintu.registry import sites
from pintu.web.charts import hours_chart
from pintu.web.messages import reason_text, text, verdict_text
from pintu_protocol.verdicts import HOLD, R_GUARD_CHECK, reason_name, verdict_name

ALERT_WINDOW_S = 24 * 3600  # a BLACK alert nobody acknowledged stays on the door view for a day
RECENT = 25  # scans on the door view when it opens
POLL_LIMIT = 200  # events sent in one step of the live stream (the rest follow in the next)
# A hold ends with one of these events: the console removes the person's Konfirmasi/Tolak buttons then.
_HOLD_ENDS = ("guard_confirmed", "guard_refused", "hold_expired", "already_inside", "site_full")


def event_view(row, lang, acked=False):
    """One event as the door view shows it (and the live stream sends it)."""
    verdict, reason = verdict_name(row["verdict"]), reason_name(row["reason"])
    return {
        "id": row["id"],
        "time": datetime.fromtimestamp(row["time"]).strftime("%H:%M:%S"),
        "site": row["site_id"],
        "door": row["door_id"] or "",
        "verdict": verdict,
        "verdict_text": verdict_text(lang, verdict),
        "reason_text": reason_text(lang, reason),
        "shown": row["shown"],
        "person": row["person_id"],
        "occupancy": row["occupancy"],
        "capacity": row["capacity"],
        "alert": bool(row["flagged"]) and not acked,
        "hold": row["verdict"] == HOLD and row["reason"] == R_GUARD_CHECK,
        "hold_ends": reason in _HOLD_ENDS,
    }


def _occupancy(data, site_id):
    return occupancy.occupancy(data, site_id)[0]


def door_page(data, site_id, lang, at=None):
    at = time.time() if at is None else at
    store = data.store
    recent = list(reversed(store.list_events(site_id=site_id, limit=RECENT)))
    acked = store.acked_among(row["id"] for row in recent if row["flagged"])
    alerts = [event_view(row, lang) for row in store.unacked_alerts(site_id, at - ALERT_WINDOW_S)]
    return {
        "site": sites.site_dict(store.get_site(site_id)),
        "occupancy": _occupancy(data, site_id),
        "scans": [event_view(row, lang, row["id"] in acked) for row in recent],
        "alerts": alerts,
        "holds": holds.pending(data, site_id, at),
        # The live stream goes on from the newest event of this site the page has (never a figure of all sites).
        "last_id": max([row["id"] for row in recent], default=0),
    }


def new_events(data, site_ids, after_id, lang):
    """Events at these sites newer than after_id, oldest first (the live stream's one query per step)."""
    return [event_view(row, lang) for row in data.store.events_after(after_id, site_ids, POLL_LIMIT)]


def site_devices(data, site_id, at=None):
    doors = {row["id"] for row in data.store.list_doors(site_id)}
    return [d for d in sites.list_devices(data, at) if d["door"] in doors]


def office_page(data, site_id, lang, since=None, verdict=None, limit=100, at=None):
    at = time.time() if at is None else at
    today = datetime.fromtimestamp(at).date().isoformat()
    report = next((s for s in events.day_report(data, today)["sites"] if s["site"] == site_id),
                  {"total": 0, "admitted": 0, "refused": 0, "by_hour": {}, "by_verdict": {}, "refusals": {}})
    rows = events.list_events(data, site_id, since or None, verdict or None, limit)
    labels = {name: verdict_text(lang, name) for name in report["by_verdict"]}
    return {
        "site": sites.site_dict(data.store.get_site(site_id)),
        "occupancy": _occupancy(data, site_id),
        "report": report,
        "refusals": sorted(((reason_text(lang, k), n) for k, n in report["refusals"].items()), key=lambda p: -p[1]),
        "chart": hours_chart(report["by_hour"], labels),
        "events": [dict(row, verdict_text=verdict_text(lang, row["verdict"]),
                        reason_text=reason_text(lang, row["reason"])) for row in rows],
        "devices": [dict(d, state_text=_state_text(lang, d["state"])) for d in site_devices(data, site_id, at)],
    }


def _state_text(lang, state):
    return text(lang, {"online": "online", "offline": "offline", "never seen": "never"}.get(state, state))


def city_page(data, lang, at=None):
    at = time.time() if at is None else at
    devices = sites.list_devices(data, at)
    door_site = {row["id"]: row["site_id"] for row in data.store.list_doors()}
    out = []
    for occ in occupancy.occupancy(data, at=at):
        mine = [d for d in devices if door_site.get(d["door"]) == occ["site"]]
        out.append(dict(occ, online=sum(d["state"] == "online" for d in mine),
                        offline=sum(d["state"] != "online" for d in mine), devices=[
                            dict(d, state_text=_state_text(lang, d["state"])) for d in mine]))
    return {"sites": out}


def mask_nik(nik):
    """A NIK as the console shows it back: only its last four digits."""
    digits = "".join(ch for ch in str(nik) if ch.isdigit())
    return "•" * 12 + digits[-4:] if len(digits) >= 4 else "•" * 16
