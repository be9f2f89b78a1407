"""SQL for the record: visits (who is inside), places held for the guard, events (every decision), resent scans,
and retention.

A mixin of Store (store.py), which owns the connection and the transactions; nothing outside data/ writes SQL.
"""

import math


class RecordSql:
    # -- visits (occupancy)

    # Every change to open visits goes through open_visit, close_visit and close_stale_visits, which keep
    # sites.inside in step; call them inside write().

    def open_visit(self, person_id, site_id, role, now, how, door_id=None, operator=None):
        """-> the count inside the site now."""
        self._run(
            "INSERT INTO visits (person_id, site_id, role, check_in, how_in, door_in, operator)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (person_id, site_id, role, now, how, door_id, operator),
        )
        self._swept_below("visits", site_id, now)
        return self._returning("UPDATE sites SET inside = inside + 1 WHERE id = ? RETURNING inside", (site_id,))[0]

    def find_open_visit(self, person_id, site_id):
        return self._one(
            "SELECT * FROM visits WHERE person_id = ? AND site_id = ? AND check_out IS NULL", (person_id, site_id)
        )

    def close_visit(self, visit_id, site_id, now, how, door_id=None):
        """-> the count inside the site now, or None if the visit was closed already."""
        cur = self._run(
            "UPDATE visits SET check_out = ?, how_out = ?, door_out = ? WHERE id = ? AND check_out IS NULL",
            (now, how, door_id, visit_id),
        )
        if cur.rowcount:
            return self._returning("UPDATE sites SET inside = inside - ? WHERE id = ? RETURNING inside",
                                   (cur.rowcount, site_id))[0]
        return None

    def close_stale_visits(self, site_id, cutoff, max_stay_s):
        """Close open visits that began before cutoff, as if the person left when the maximum stay ended. Done once
        per transaction and site for cutoffs in one second (check_in is whole seconds: the same rows)."""
        if self._sweep_done("visits", site_id, math.ceil(cutoff)):
            return 0
        cur = self._run(
            "UPDATE visits SET check_out = check_in + ?, how_out = 'auto'"
            " WHERE site_id = ? AND check_out IS NULL AND check_in < ?",
            (max_stay_s, site_id, cutoff),
        )
        if cur.rowcount:
            self._run("UPDATE sites SET inside = inside - ? WHERE id = ?", (cur.rowcount, site_id))
        return cur.rowcount

    def count_inside(self, site_id):
        row = self._one("SELECT inside FROM sites WHERE id = ?", (site_id,))
        return row[0] if row is not None else 0

    def site_load(self, site_id):
        """-> (count inside, places held for the guard) in one round trip."""
        row = self._one(
            "SELECT inside, (SELECT COUNT(*) FROM holds WHERE site_id = ? AND settled IS NULL) FROM sites WHERE id = ?",
            (site_id, site_id),
        )
        return (row[0], row[1]) if row is not None else (0, 0)

    def count_open_visits(self, site_id):
        """The same figure as count_inside, counted from the visits themselves (checks and repairs)."""
        return self._one("SELECT COUNT(*) FROM visits WHERE site_id = ? AND check_out IS NULL", (site_id,))[0]

    def count_inside_by_role(self, site_id):
        rows = self._all(
            "SELECT role, COUNT(*) FROM visits WHERE site_id = ? AND check_out IS NULL GROUP BY role", (site_id,)
        )
        return {row[0]: row[1] for row in rows}

    def visits_of(self, person_id, since):
        return self._all(
            "SELECT * FROM visits WHERE person_id = ? AND (check_out IS NULL OR check_out >= ?) ORDER BY check_in",
            (person_id, since),
        )

    def overlapping_visits(self, site_id, start, end, exclude_person):
        """Visits at site_id that overlap [start, end]; an open visit lasts until now (end)."""
        return self._all(
            "SELECT v.*, p.name AS name FROM visits v LEFT JOIN persons p ON p.id = v.person_id"
            " WHERE v.site_id = ? AND v.check_in <= ? AND (v.check_out IS NULL OR v.check_out >= ?)"
            " AND v.person_id IS NOT NULL AND v.person_id != ? ORDER BY v.check_in",
            (site_id, end, start, exclude_person),
        )

    def visit_by_id(self, visit_id):
        return self._one("SELECT * FROM visits WHERE id = ?", (visit_id,))

    # -- places held for the guard's check (a pending YELLOW): counted against capacity, not inside

    def insert_hold(self, site_id, person_id, role, door_id, device_id, event_id, now, expires):
        cur = self._run(
            "INSERT INTO holds (site_id, person_id, role, door_id, device_id, event_id, created, expires)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (site_id, person_id, role, door_id, device_id, event_id, now, expires),
        )
        self._swept_below("holds", site_id, expires)
        return cur.lastrowid

    def pending_hold_of(self, person_id, site_id):
        return self._one(
            "SELECT * FROM holds WHERE person_id = ? AND site_id = ? AND settled IS NULL", (person_id, site_id)
        )

    def pending_holds(self, site_id):
        return self._all("SELECT * FROM holds WHERE site_id = ? AND settled IS NULL ORDER BY created, id", (site_id,))

    def pending_hold_at(self, site_id, device_id, door_id):
        """The newest pending hold made at this unit (or, for a scan with no unit, at this door)."""
        if device_id is not None:
            where, arg = "device_id = ?", device_id
        else:
            where, arg = "device_id IS NULL AND door_id = ?", door_id
        return self._one(
            "SELECT * FROM holds WHERE site_id = ? AND settled IS NULL AND %s ORDER BY created DESC, id DESC LIMIT 1"
            % where,
            (site_id, arg),
        )

    def count_pending_holds(self, site_id):
        return self._one("SELECT COUNT(*) FROM holds WHERE site_id = ? AND settled IS NULL", (site_id,))[0]

    def holds_expired_by(self, site_id, at):
        """The holds to release, once per transaction, site and second (expires is whole seconds)."""
        if self._sweep_done("holds", site_id, at):
            return []
        return self._all(
            "SELECT * FROM holds WHERE site_id = ? AND settled IS NULL AND expires < ? ORDER BY expires, id",
            (site_id, at),
        )

    def move_hold(self, hold_id, door_id, device_id):
        self._run("UPDATE holds SET door_id = ?, device_id = ? WHERE id = ?", (door_id, device_id, hold_id))

    def settle_hold(self, hold_id, at, outcome, guard=None):
        return self._run(
            "UPDATE holds SET settled = ?, outcome = ?, guard = ? WHERE id = ? AND settled IS NULL",
            (int(at), outcome, guard, hold_id),
        ).rowcount

    def hold_of_event(self, event_id):
        return self._one("SELECT * FROM holds WHERE event_id = ?", (event_id,))

    # -- doors opened for a hold confirmed by hand (checkin/door_opens.py)

    def held_scan(self, source, person_id, site_id, since, verdict):
        """The unit's scan id of the person's latest `verdict` (HOLD) scan at this source since `since` that the
        unit did not say it never showed, or None."""
        row = self._one(
            "SELECT s.scan_ref FROM events e JOIN scans s ON s.event_id = e.id"
            " WHERE e.person_id = ? AND e.site_id = ? AND e.verdict = ? AND e.time >= ? AND s.source = ?"
            " AND s.unshown = 0 ORDER BY e.id DESC LIMIT 1",
            (person_id, site_id, verdict, int(since), source),
        )
        return row[0] if row is not None else None

    def request_open(self, hold_id, scan_ref, event_id, until):
        self._run("UPDATE holds SET open_scan = ?, open_event = ?, open_until = ? WHERE id = ?",
                  (scan_ref, event_id, until, hold_id))

    def pending_opens(self):
        """Doors to open not yet sent nor dropped, with what the unit is shown (the confirmation's event)."""
        return self._all(
            "SELECT h.id, h.device_id, h.open_scan, h.open_until, e.occupancy, e.capacity, e.shown"
            " FROM holds h JOIN events e ON e.id = h.open_event"
            " WHERE h.open_until IS NOT NULL AND h.open_done IS NULL ORDER BY h.open_until, h.id"
        )

    def finish_open(self, hold_id, at, outcome):
        """Mark a door open sent or dropped. -> 1 for the one caller that did it, 0 if another did first."""
        return self._run(
            "UPDATE holds SET open_done = ?, open_outcome = ? WHERE id = ? AND open_until IS NOT NULL"
            " AND open_done IS NULL",
            (int(at), outcome, hold_id),
        ).rowcount

    def unclaim_open(self, hold_id):
        """A claimed door open that could not go out at once: pending again, for the next look (until its deadline)."""
        self._run("UPDATE holds SET open_done = NULL, open_outcome = NULL WHERE id = ? AND open_outcome = 'sent'",
                  (hold_id,))

    # -- what a late replay must respect (checkin/replays.py)

    def mark_unshown(self, source, scan_ref):
        self._run("UPDATE scans SET unshown = 1 WHERE source = ? AND scan_ref = ?", (source, scan_ref))

    def last_shown_admission(self, person_id, site_id, since, verdicts):
        """The time of the person's latest live admission at the site at or after `since` that no unit has said it
        did not show (manual admissions and scans never replayed count as shown), or None."""
        marks = ", ".join("?" * len(verdicts))
        return self._one(
            "SELECT MAX(e.time) FROM events e LEFT JOIN scans s ON s.event_id = e.id"
            " WHERE e.person_id = ? AND e.site_id = ? AND e.time >= ? AND e.queued = 0 AND e.verdict IN (%s)"
            " AND COALESCE(s.unshown, 0) = 0" % marks,
            (person_id, site_id, int(since), *verdicts),
        )[0]

    def first_queued_exit(self, person_id, site_id, after, verdict):
        """The earliest exit of the person at the site replayed from a unit's queue and read at or after `after`."""
        return self._one(
            "SELECT * FROM events WHERE person_id = ? AND site_id = ? AND queued = 1 AND verdict = ? AND time >= ?"
            " ORDER BY time, id LIMIT 1",
            (person_id, site_id, verdict, int(after)),
        )

    # -- events and resent scans

    def insert_event(
        self,
        at,
        site_id,
        door_id,
        device_id,
        verdict,
        reason,
        person_id,
        how,
        operator,
        flagged,
        occupancy,
        capacity,
        shown,
        queued,
    ):
        cur = self._run(
            "INSERT INTO events (time, site_id, door_id, device_id, verdict, reason, person_id, how, operator,"
            " flagged, occupancy, capacity, shown, queued) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                int(at),
                site_id,
                door_id,
                device_id,
                verdict,
                reason,
                person_id,
                how,
                operator,
                int(flagged),
                occupancy,
                capacity,
                shown,
                int(queued),
            ),
        )
        return cur.lastrowid

    def list_events(self, site_id=None, since=None, verdict=None, person_id=None, limit=None):
        where, args = [], []
        for column, op, value in (
            ("site_id", "=", site_id),
            ("time", ">=", since),
            ("verdict", "=", verdict),
            ("person_id", "=", person_id),
        ):
            if value is not None:
                where.append("%s %s ?" % (column, op))
                args.append(value)
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return self._all(sql, args)

    def event_counts(self, start, end):
        """Events in [start, end) counted by site, hour since start, verdict and reason (the daily report)."""
        return self._all(
            "SELECT site_id, (time - ?) / 3600 AS hour, verdict, reason, COUNT(*) AS n FROM events"
            " WHERE time >= ? AND time < ? GROUP BY site_id, hour, verdict, reason ORDER BY site_id, hour",
            (start, start, end),
        )

    def find_scan(self, source, scan_ref):
        return self._one(
            "SELECT e.* FROM scans s JOIN events e ON e.id = s.event_id WHERE s.source = ? AND s.scan_ref = ?",
            (source, scan_ref),
        )

    def insert_scan(self, source, scan_ref, event_id, now):
        self._run(
            "INSERT INTO scans (source, scan_ref, event_id, time) VALUES (?, ?, ?, ?)",
            (source, scan_ref, event_id, now),
        )

    # -- retention

    def purge(self, cutoff, site_id=None, every_site=True):
        """Delete events and finished visits older than cutoff: of every site (every_site), of one site (site_id),
        or those with no site (site_id None, every_site False). Then resent-scan records whose event is gone and
        certificate holders nothing refers to any more. -> counts."""
        if every_site:
            where, args = "", (cutoff,)
        elif site_id is None:
            where, args = " AND site_id IS NULL", (cutoff,)
        else:
            where, args = " AND site_id = ?", (cutoff, site_id)
        # Settled YELLOW holds go with the record (pending ones hold a place now and stay).
        self._run("DELETE FROM holds WHERE settled IS NOT NULL AND settled < ?" + where, args)
        counts = {
            "events": self._run("DELETE FROM events WHERE time < ?" + where, args).rowcount,
            "visits": self._run(
                "DELETE FROM visits WHERE check_out IS NOT NULL AND check_out < ?" + where, args
            ).rowcount,
        }
        # An acknowledgement goes with the alert it answers (the console's BLACK alerts, sql_users.py).
        self._run("DELETE FROM alert_acks WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = alert_acks.event_id)")
        counts["scans"] = self._run(
            "DELETE FROM scans WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = scans.event_id)"
        ).rowcount
        counts["holders"] = self._run(
            "DELETE FROM persons WHERE holder = 1"
            " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.person_id = persons.id)"
            " AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.person_id = persons.id)"
            " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.person_id = persons.id)"
        ).rowcount
        return counts

    # -- for the benchmark: the baseline a decision is compared with

    def raw_person_lookup(self, person_id):
        return self._one("SELECT * FROM persons WHERE id = ?", (person_id,))

    def dump(self):
        """The whole database as SQL text (what `sqlite3 .dump` prints): used to audit what is on disk."""
        return "\n".join(self._db.iterdump())
