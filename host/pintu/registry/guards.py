"""Guards and their cards: a guard's card (credentials.GUARD, "PG1:") confirms a YELLOW held at the unit it is
scanned at (checkin/holds.py). A guard belongs to one site; a card is revoked with its guard."""

import time

from pintu.errors import PintuError
from pintu.registry.cards import FORMATS, write_card
from pintu.registry.sites import get_site
from pintu.registry.validate import check_count, check_name
from pintu.rules.credentials import GUARD
from pintu.times import day_number, local_date, show_time


def guard_dict(row):
    return {
        "guard": row["id"],
        "name": row["name"],
        "site": row["site_id"],
        "issued": row["issued"],
        "revoked": None if row["revoked"] is None else show_time(row["revoked"]),
    }


def add_guard(data, name, site, out=None, at=None):
    """A new guard of a site with a new card; the card is written to out (.png or .svg) when given.
    -> {"guard", "name", "site", "issued", "revoked", "code", "file"}."""
    if out is not None and not str(out).lower().endswith(FORMATS):
        raise PintuError("card file must end in %s" % " or ".join(FORMATS))
    name = check_name(name)
    if not name:
        raise PintuError("a guard needs a name")
    at = time.time() if at is None else at
    issued = local_date(at)
    with data.store.write():
        site_row = get_site(data, site)
        cred_id, code = data.issuer.issue(day_number(issued), kind=GUARD)
        guard_id = data.store.insert_guard(cred_id, name, site_row["id"], issued, int(at))
        row = data.store.get_guard(guard_id)
    if out is not None:
        write_card(out, code, "GUARD " + name, site_row["name"])
    return dict(guard_dict(row), code=code, file=None if out is None else str(out))


def list_guards(data, site=None):
    if site is not None:
        get_site(data, site)
    return [guard_dict(row) for row in data.store.list_guards(site)]


def revoke_guard(data, guard_id, at=None):
    """The guard's card confirms nothing from now on (it scans INVALID/revoked)."""
    guard_id = check_count("guard id", guard_id, 1, 2**62)  # a typo must not reach SQLite's 64-bit integers
    with data.store.write():
        if data.store.get_guard(guard_id) is None:
            raise PintuError("unknown guard %r" % guard_id)
        data.store.revoke_guard(guard_id, int(time.time() if at is None else at))
        row = data.store.get_guard(guard_id)
    return guard_dict(row)
