"""SQL for the registry's tables: sites, doors, devices (with their frame counters), persons, doses, credentials,
guards.

A mixin of Store (store.py), which owns the connection and the transactions; nothing outside data/ writes SQL.
"""

import sqlite3

from pintu.data import dialect, replay_window
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
        self.forget_cached()

    _SITE_FIELDS = (
        "name", "capacity", "policy", "referral", "max_stay_s", "yellow_admits", "accept_tests", "retention_s",
        "anti_passback", "hold_s",
    )

    def update_site(self, site_id, fields):
        for key in fields:
            if key not in self._SITE_FIELDS:
                raise ValueError(key)
        if fields:
            sets = ", ".join("%s = ?" % key for key in fields)
            self._run("UPDATE sites SET %s WHERE id = ?" % sets, (*fields.values(), site_id))
            self.forget_cached()

    def get_site(self, site_id):
        return self._one("SELECT * FROM sites WHERE id = ?", (site_id,))

    def list_sites(self):
        return self._all("SELECT * FROM sites ORDER BY id")

    def insert_door(self, door_id, site_id, direction):
        try:
            self._run("INSERT INTO doors (id, site_id, direction) VALUES (?, ?, ?)", (door_id, site_id, direction))
        except sqlite3.IntegrityError:
            raise PintuError("door %r already exists" % door_id) from None
        self.forget_cached()

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
        self.forget_cached()

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
        self.forget_cached()
        return self._run("UPDATE devices SET revoked = ? WHERE id = ? AND revoked IS NULL", (now, device_id)).rowcount

    def accept_rx_counter(self, device_id, counter):
        """Accept a frame counter from a device if its sliding window (replay_window.py) has not seen it, recording
        it in the same write transaction, so two workers racing for one counter cannot both win.
        -> replay_window.ACCEPTED, DUPLICATE or TOO_OLD (also for an unknown device)."""
        with self.row_write():
            # Writing the row first locks it: what it returns is the last committed window, and a worker racing
            # for the same device waits for this transaction's end. One statement for both.
            row = self._returning("UPDATE devices SET rx_counter = rx_counter WHERE id = ? RETURNING rx_counter,"
                                  " rx_window", (device_id,))
            if row is None:
                return replay_window.TOO_OLD
            outcome, top, seen = replay_window.slide(row[0], replay_window.from_column(row[1]), counter)
            if outcome == replay_window.ACCEPTED:
                self._run("UPDATE devices SET rx_counter = ?, rx_window = ? WHERE id = ?",
                          (top, replay_window.to_column(seen), device_id))
        return outcome

    def next_tx_counter(self, device_id):
        """Reserve the next counter for a frame to this device. -> the counter to use (1, 2, ...)."""
        with self.row_write():
            row = self._returning("UPDATE devices SET tx_counter = tx_counter + 1 WHERE id = ? RETURNING tx_counter",
                                  (device_id,))
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

    def insert_holder(self, key, now):
        """The row standing for an EU certificate's holder (decide.py): no name, marked so a purge removes it
        once no event or visit refers to it."""
        return self._run(
            "INSERT INTO persons (nik_hash, name, role, created, holder) VALUES (?, '', 'visitor', ?, 1)", (key, now)
        ).lastrowid

    def get_person(self, person_id):
        return self._one("SELECT * FROM persons WHERE id = ?", (person_id,))

    def find_person(self, nik_hash):
        return self._one("SELECT * FROM persons WHERE nik_hash = ?", (nik_hash,))

    def list_persons(self, site_id=None, status=None):
        """Registry persons with their dose and valid-card counts; site_id: only those holding a card for it."""
        where, args = ["p.holder = 0"], []
        if site_id is not None:
            where.append("EXISTS (SELECT 1 FROM credentials c WHERE c.person_id = p.id AND c.site_id = ?"
                         " AND c.revoked IS NULL)")
            args.append(site_id)
        if status is not None:
            where.append("p.status = ?")
            args.append(status)
        return self._all(
            "SELECT p.*, (SELECT COUNT(*) FROM doses d WHERE d.person_id = p.id) AS doses,"
            " (SELECT COUNT(*) FROM credentials c WHERE c.person_id = p.id AND c.revoked IS NULL) AS cards"
            " FROM persons p WHERE %s ORDER BY p.id" % " AND ".join(where),
            args,
        )

    def names_of(self, person_ids):
        """-> {person_id: name} (for `--names`: only when the operator asks)."""
        person_ids = sorted(i for i in set(person_ids) if i is not None)
        names = {}
        for i in range(0, len(person_ids), 500):  # SQLite limits the number of ? in one statement
            chunk = person_ids[i : i + 500]
            rows = self._all("SELECT id, name FROM persons WHERE id IN (%s)" % ",".join("?" * len(chunk)), chunk)
            names.update((row[0], row[1]) for row in rows)
        return names

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

    def insert_dose(self, person_id, number, day, vaccine=""):
        self._run(
            "INSERT INTO doses (person_id, number, date, vaccine) VALUES (?, ?, ?, ?)",
            (person_id, number, day, vaccine),
        )

    def remove_dose(self, person_id, number):
        """Delete dose `number` and move the later ones down, so doses stay numbered 1, 2, 3 in date order."""
        count = self._run("DELETE FROM doses WHERE person_id = ? AND number = ?", (person_id, number)).rowcount
        later = self._all(
            "SELECT number FROM doses WHERE person_id = ? AND number > ? ORDER BY number", (person_id, number)
        )
        for row in later:
            self._run("UPDATE doses SET number = number - 1 WHERE person_id = ? AND number = ?", (person_id, row[0]))
        return count

    # -- the CSV import: lookups by batch, then single-row writes in short transactions (person_import.py)

    def persons_by_hash(self, nik_hashes):
        """-> {nik_hash: person row} for the known ones among nik_hashes (a batch of at most a few hundred)."""
        nik_hashes = list(nik_hashes)
        if not nik_hashes:
            return {}
        rows = self._all(
            "SELECT * FROM persons WHERE nik_hash IN (%s)" % ",".join("?" * len(nik_hashes)), nik_hashes
        )
        return {bytes(row["nik_hash"]): row for row in rows}

    def dose_dates_of(self, person_ids):
        """-> {person_id: [date of dose 1, dose 2, ...]} for a batch of persons."""
        person_ids = list(person_ids)
        out = {person_id: [] for person_id in person_ids}
        if person_ids:
            rows = self._all(
                "SELECT person_id, date FROM doses WHERE person_id IN (%s) ORDER BY person_id, number"
                % ",".join("?" * len(person_ids)),
                person_ids,
            )
            for row in rows:
                out[row[0]].append(row[1])
        return out

    def insert_imported(self, persons, doses, now):
        """New persons (nik_hash, name, role, status, since, until) and new doses (nik_hash, number, date) of known
        or new persons, in the caller's transaction."""
        self._many(
            "INSERT INTO persons (nik_hash, name, role, status, status_since, status_until, created)"
            " VALUES (?, ?, ?, ?, ?, ?, %d)" % int(now),
            persons,
        )
        self._many(
            "INSERT INTO doses (person_id, number, date) SELECT id, ?, ? FROM persons WHERE nik_hash = ?",
            ((number, day, nik_hash) for nik_hash, number, day in doses),
        )

    _PERSON_FIELDS = ("name", "role", "status", "status_since", "status_until")

    def update_person(self, person_id, fields):
        for key in fields:
            if key not in self._PERSON_FIELDS:
                raise ValueError(key)
        if fields:
            sets = ", ".join("%s = ?" % key for key in fields)
            self._run("UPDATE persons SET %s WHERE id = ?" % sets, (*fields.values(), person_id))

    # -- credentials

    def insert_credential(self, cred_id, person_id, site_id, issued):
        self._run(
            "INSERT INTO credentials (id, person_id, site_id, issued) VALUES (?, ?, ?, ?)",
            (cred_id, person_id, site_id, issued),
        )

    def get_credential(self, cred_id):
        return self._one("SELECT * FROM credentials WHERE id = ?", (cred_id,))

    def card_holder(self, cred_id):
        """A card, its holder and the holder's dose dates in one round trip. -> (row, dose dates in dose order):
        card_person and card_revoked from the card, then the person's columns (all None if the person is gone);
        (None, ()) for an unknown card."""
        doses = dialect.joined_text(self.backend, "number || ':' || date", "doses WHERE person_id = p.id")
        row = self._one(
            "SELECT c.person_id AS card_person, c.revoked AS card_revoked, %s AS dose_list, p.* FROM credentials c"
            " LEFT JOIN persons p ON p.id = c.person_id WHERE c.id = ?" % doses, (cred_id,))
        if row is None:
            return None, ()
        numbered = (item.split(":", 1) for item in (row["dose_list"] or "").split(",") if item)
        return row, tuple(day for _, day in sorted(numbered, key=lambda pair: int(pair[0])))

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
