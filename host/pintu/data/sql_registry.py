"""SQL for the registry's tables: sites, doors, devices (with their frame counters), persons, doses, credentials,
guards.

A mixin of Store (store.py), which owns the connection and the transactions; nothing outside data/ writes SQL.
"""

import sqlite3

from pintu.errors import PintuError


class RegistrySql:
    # -- sites, doors, devices

    def insert_site(
        self, site_id, name, capacity, policy, referral, max_stay_s, yellow_admits, now, accept_tests=False
    ):
        try:
            self._run(
                "INSERT INTO sites (id, name, capacity, policy, referral, max_stay_s, yellow_admits, accept_tests,"
                " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (site_id, name, capacity, policy, referral, max_stay_s, int(yellow_admits), int(accept_tests), now),
            )
        except sqlite3.IntegrityError:
            raise PintuError("site %r already exists" % site_id) from None

    _SITE_FIELDS = (
        "name", "capacity", "policy", "referral", "max_stay_s", "yellow_admits", "accept_tests", "anti_passback",
        "hold_s",
    )

    def update_site(self, site_id, fields):
        for key in fields:
            if key not in self._SITE_FIELDS:
                raise ValueError(key)
        if fields:
            sets = ", ".join("%s = ?" % key for key in fields)
            self._run("UPDATE sites SET %s WHERE id = ?" % sets, (*fields.values(), site_id))

    def get_site(self, site_id):
        return self._one("SELECT * FROM sites WHERE id = ?", (site_id,))

    def list_sites(self):
        return self._all("SELECT * FROM sites ORDER BY id")

    def insert_door(self, door_id, site_id, direction):
        try:
            self._run("INSERT INTO doors (id, site_id, direction) VALUES (?, ?, ?)", (door_id, site_id, direction))
        except sqlite3.IntegrityError:
            raise PintuError("door %r already exists" % door_id) from None

    def get_door(self, door_id):
        return self._one("SELECT * FROM doors WHERE id = ?", (door_id,))

    def list_doors(self, site_id=None):
        if site_id is None:
            return self._all("SELECT * FROM doors ORDER BY id")
        return self._all("SELECT * FROM doors WHERE site_id = ? ORDER BY id", (site_id,))

    def insert_device(self, device_id, door_id, key):
        try:
            self._run("INSERT INTO devices (id, door_id, key) VALUES (?, ?, ?)", (device_id, door_id, key))
        except sqlite3.IntegrityError:
            raise PintuError("device %r already exists" % device_id) from None

    def get_device(self, device_id):
        return self._one("SELECT * FROM devices WHERE id = ?", (device_id,))

    def list_devices(self):
        return self._all("SELECT * FROM devices ORDER BY id")

    def touch_device(self, device_id, now, firmware=None, board=None):
        self._run(
            "UPDATE devices SET last_seen = ?, firmware = COALESCE(?, firmware), board = COALESCE(?, board)"
            " WHERE id = ?",
            (now, firmware, board, device_id),
        )

    def revoke_device(self, device_id, now):
        return self._run("UPDATE devices SET revoked = ? WHERE id = ? AND revoked IS NULL", (now, device_id)).rowcount

    def advance_rx_counter(self, device_id, counter):
        """Accept a frame counter from a device only if it is above the last one accepted. -> bool.
        One statement, so two workers racing for the same counter cannot both win."""
        return (
            self._run(
                "UPDATE devices SET rx_counter = ? WHERE id = ? AND rx_counter < ?", (counter, device_id, counter)
            ).rowcount
            == 1
        )

    def next_tx_counter(self, device_id):
        """Reserve the next counter for a frame to this device. -> the counter to use (1, 2, ...)."""
        with self.write():
            self._run("UPDATE devices SET tx_counter = tx_counter + 1 WHERE id = ?", (device_id,))
            row = self._one("SELECT tx_counter FROM devices WHERE id = ?", (device_id,))
        if row is None:
            raise PintuError("unknown device %r" % device_id)
        return row[0]

    # -- persons, doses, health status

    def insert_person(self, nik_hash, name, role, now):
        try:
            cur = self._run(
                "INSERT INTO persons (nik_hash, name, role, created) VALUES (?, ?, ?, ?)", (nik_hash, name, role, now)
            )
        except sqlite3.IntegrityError:
            raise PintuError("a person with that NIK already exists") from None
        return cur.lastrowid

    def get_person(self, person_id):
        return self._one("SELECT * FROM persons WHERE id = ?", (person_id,))

    def find_person(self, nik_hash):
        return self._one("SELECT * FROM persons WHERE nik_hash = ?", (nik_hash,))

    def count_persons(self):
        return self._one("SELECT COUNT(*) FROM persons")[0]

    def set_status(self, person_id, status, since, until):
        self._run(
            "UPDATE persons SET status = ?, status_since = ?, status_until = ? WHERE id = ?",
            (status, since, until, person_id),
        )

    def dose_dates(self, person_id):
        return [row[0] for row in self._all("SELECT date FROM doses WHERE person_id = ? ORDER BY number", (person_id,))]

    def list_doses(self, person_id):
        return self._all("SELECT * FROM doses WHERE person_id = ? ORDER BY number", (person_id,))

    def add_dose(self, person_id, day, vaccine):
        number = self._one("SELECT COALESCE(MAX(number), 0) + 1 FROM doses WHERE person_id = ?", (person_id,))[0]
        self._run(
            "INSERT INTO doses (person_id, number, date, vaccine) VALUES (?, ?, ?, ?)",
            (person_id, number, day, vaccine),
        )
        return number

    def import_persons(self, persons, doses, now):
        """Bulk upsert, in the caller's transaction. persons: (nik_hash, name, role, status, since, until);
        doses: (nik_hash, number, date). A person already known keeps its id; its doses are replaced."""
        self._db.executemany(
            "INSERT INTO persons (nik_hash, name, role, status, status_since, status_until, created)"
            " VALUES (?, ?, ?, ?, ?, ?, %d)"
            " ON CONFLICT (nik_hash) DO UPDATE SET name = excluded.name, role = excluded.role,"
            " status = excluded.status, status_since = excluded.status_since,"
            " status_until = excluded.status_until" % int(now),
            persons,
        )
        if self._one("SELECT 1 FROM doses LIMIT 1") is not None:
            self._db.executemany(
                "DELETE FROM doses WHERE person_id = (SELECT id FROM persons WHERE nik_hash = ?)",
                ((row[0],) for row in persons),
            )
        self._db.executemany(
            "INSERT INTO doses (person_id, number, date) SELECT id, ?, ? FROM persons WHERE nik_hash = ?",
            ((number, day, nik_hash) for nik_hash, number, day in doses),
        )

    # -- credentials

    def insert_credential(self, cred_id, person_id, site_id, issued):
        self._run(
            "INSERT INTO credentials (id, person_id, site_id, issued) VALUES (?, ?, ?, ?)",
            (cred_id, person_id, site_id, issued),
        )

    def get_credential(self, cred_id):
        return self._one("SELECT * FROM credentials WHERE id = ?", (cred_id,))

    def revoke_credentials(self, person_id, now):
        cur = self._run("UPDATE credentials SET revoked = ? WHERE person_id = ? AND revoked IS NULL", (now, person_id))
        return cur.rowcount

    def list_credentials(self, person_id):
        return self._all("SELECT * FROM credentials WHERE person_id = ? ORDER BY issued, rowid", (person_id,))

    # -- guards: their cards confirm a held YELLOW at the door (checkin/holds.py)

    def insert_guard(self, cred_id, name, site_id, issued, now):
        cur = self._run(
            "INSERT INTO guards (cred_id, name, site_id, issued, created) VALUES (?, ?, ?, ?, ?)",
            (cred_id, name, site_id, issued, now),
        )
        return cur.lastrowid

    def get_guard(self, guard_id):
        return self._one("SELECT * FROM guards WHERE id = ?", (guard_id,))

    def find_guard(self, cred_id):
        return self._one("SELECT * FROM guards WHERE cred_id = ?", (cred_id,))

    def list_guards(self, site_id=None):
        if site_id is None:
            return self._all("SELECT * FROM guards ORDER BY id")
        return self._all("SELECT * FROM guards WHERE site_id = ? ORDER BY id", (site_id,))

    def revoke_guard(self, guard_id, now):
        return self._run("UPDATE guards SET revoked = ? WHERE id = ? AND revoked IS NULL", (now, guard_id)).rowcount
