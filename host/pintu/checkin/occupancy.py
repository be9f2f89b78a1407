"""Who is inside each site now: counts by role (employees vs visitors), after closing visits past the maximum stay.

Check-in and check-out themselves happen inside the decision's transaction (decide.py), so capacity holds there.
"""

import time

from pintu.errors import PintuError
from pintu.rules.policy import EMPLOYEE_ROLES, ROLES


def close_overdue(store, at, site_row=None):
    """Inside a write transaction: close the visits at one site (or every site) that began more than the site's
    maximum stay before `at`, as if the person left when it ended. Everything that reads who is inside calls this
    first, so a forgotten exit stops holding a place."""
    for site in [site_row] if site_row is not None else store.list_sites():
        store.close_stale_visits(site["id"], at - site["max_stay_s"], site["max_stay_s"])


def site_occupancy(store, site_row, at):
    """Inside one write transaction: close overdue visits, then count."""
    close_overdue(store, at, site_row)
    by_role = store.count_inside_by_role(site_row["id"])
    inside = sum(by_role.values())
    return {
        "site": site_row["id"],
        "name": site_row["name"],
        "inside": inside,
        "capacity": site_row["capacity"],
        "free": max(site_row["capacity"] - inside, 0),
        "employees": sum(by_role.get(role, 0) for role in EMPLOYEE_ROLES),
        "visitors": by_role.get("visitor", 0),
        "by_role": {role: by_role.get(role, 0) for role in ROLES},
    }


def occupancy(data, site=None, at=None):
    """-> [{"site", "name", "inside", "capacity", "free", "employees", "visitors", "by_role"}], one per site."""
    at = time.time() if at is None else at
    store = data.store
    with store.write():
        if site is None:
            rows = store.list_sites()
        else:
            row = store.get_site(site)
            if row is None:
                raise PintuError("unknown site %r" % site)
            rows = [row]
        return [site_occupancy(store, row, at) for row in rows]


def check_out(data, site, person_id, at=None, how="manual"):
    """Close a person's open visit at a site (a guard's manual exit). -> True if there was one."""
    at = time.time() if at is None else at
    with data.store.write():
        visit = data.store.find_open_visit(person_id, site)
        if visit is None:
            return False
        data.store.close_visit(visit["id"], site, int(at), how)
    return True
