"""Contact tracing: who was at the same site at overlapping times as a given person."""

import time

from pintu.checkin.occupancy import close_overdue
from pintu.registry import find_person
from pintu.times import show_time


def trace(data, nik, days=14, at=None):
    """Every other person whose visit overlapped one of this person's visits in the last `days` days.
    An open visit counts as lasting until now. -> [{"person", "name", "role", "site", "from", "until",
    "overlap_min"}], one row per overlapping pair of visits, earliest first."""
    now = time.time() if at is None else at
    since = now - days * 86400
    store = data.store
    person = find_person(data, nik)
    with store.write():  # visits past a site's maximum stay end there, not now
        close_overdue(store, now)
    contacts = []
    for visit in store.visits_of(person["id"], since):
        start = visit["check_in"]
        end = visit["check_out"] if visit["check_out"] is not None else int(now)
        for other in store.overlapping_visits(visit["site_id"], start, end, person["id"]):
            other_end = other["check_out"] if other["check_out"] is not None else int(now)
            lo, hi = max(start, other["check_in"]), min(end, other_end)
            contacts.append(
                {
                    "person": other["person_id"],
                    "name": other["name"],
                    "role": other["role"],
                    "site": visit["site_id"],
                    "from": show_time(lo),
                    "until": show_time(hi),
                    "overlap_min": round((hi - lo) / 60, 1),
                    "_from": lo,
                }
            )
    contacts.sort(key=lambda c: (c["_from"], c["person"]))
    for contact in contacts:
        del contact["_from"]
    return {"person": person["id"], "days": days, "contacts": contacts}
