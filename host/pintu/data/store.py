"""The data directory and every SQL statement the host runs (SQLite now; a PostgreSQL twin can follow).

Nothing outside this module writes SQL. Rows come back as sqlite3.Row (mapping-like); callers never see cursors.
"""

import os
import sqlite3
from contextlib import contextmanager

from pintu.errors import PintuError

DB_NAME = "pintu.db"
NIK_KEY_NAME = "nik.key"
ISSUING_KEY_NAME = "issuing.key"
SCHEMA_VERSION = 1
DEFAULT_DATA = "./pintu-data"

# A waiting writer retries for this long before the decision fails closed (R_HOST_FAULT).
BUSY_TIMEOUT_S = 10.0

_SCHEMA = """
CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    policy TEXT NOT NULL,
    referral TEXT NOT NULL DEFAULT '',
    max_stay_s INTEGER NOT NULL,
    yellow_admits INTEGER NOT NULL DEFAULT 1,
    -- EU certificates: whether a recent negative test or a valid recovery counts (off, like Italy's reinforced mode)
    accept_tests INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    -- open visits, kept by the visit methods below in the same transaction: counting them at every scan
    -- would cost time in proportion to the crowd inside
    inside INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE doors (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    direction TEXT NOT NULL
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    door_id TEXT REFERENCES doors(id),
    key BLOB NOT NULL,
    last_seen INTEGER,
    firmware TEXT,
    board TEXT,
    revoked INTEGER,
    -- protocol frame counters (replay protection), shared by every gateway worker through this table
    rx_counter INTEGER NOT NULL DEFAULT 0,
    tx_counter INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    nik_hash BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'clear',
    status_since TEXT,
    status_until TEXT,
    created INTEGER NOT NULL
);
CREATE TABLE doses (
    person_id INTEGER NOT NULL REFERENCES persons(id),
    number INTEGER NOT NULL,
    date TEXT NOT NULL,
    vaccine TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (person_id, number)
) WITHOUT ROWID;
CREATE TABLE credentials (
    id BLOB PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    site_id TEXT REFERENCES sites(id),
    issued TEXT NOT NULL,
    revoked INTEGER
);
CREATE INDEX credentials_person ON credentials(person_id);
CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    person_id INTEGER REFERENCES persons(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    role TEXT NOT NULL,
    check_in INTEGER NOT NULL,
    check_out INTEGER,
    how_in TEXT NOT NULL,
    how_out TEXT,
    door_in TEXT,
    door_out TEXT,
    operator TEXT
);
-- At most one open visit per person and site: a second entry scan cannot count twice.
CREATE UNIQUE INDEX visits_open_person ON visits(person_id, site_id) WHERE check_out IS NULL;
CREATE INDEX visits_open_site ON visits(site_id, check_in) WHERE check_out IS NULL;
CREATE INDEX visits_person ON visits(person_id, check_in);
CREATE INDEX visits_site_time ON visits(site_id, check_in);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    site_id TEXT,
    door_id TEXT,
    device_id TEXT,
    verdict INTEGER NOT NULL,
    reason INTEGER NOT NULL,
    person_id INTEGER,
    how TEXT NOT NULL,
    operator TEXT,
    flagged INTEGER NOT NULL DEFAULT 0,
    occupancy INTEGER,
    capacity INTEGER,
    shown TEXT NOT NULL DEFAULT '',
    queued INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_site_time ON events(site_id, time);
-- A resent scan (same device, same scan number) gets the stored decision back instead of a second one.
CREATE TABLE scans (
    source TEXT NOT NULL,
    scan_ref INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (source, scan_ref)
) WITHOUT ROWID;
CREATE INDEX scans_time ON scans(time);
"""


def _create_private_file(path, data=b""):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def init_data_dir(data_dir, nik_key, issuing_key):
    """Create the data directory (0700), its database and key files (0600). Returns False if it already existed."""
    db_path = os.path.join(data_dir, DB_NAME)
    if os.path.exists(db_path):
        return False
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for name, data in ((NIK_KEY_NAME, nik_key), (ISSUING_KEY_NAME, issuing_key)):
        path = os.path.join(data_dir, name)
        if not os.path.exists(path):
            _create_private_file(path, data)
    _create_private_file(db_path)
    store = Store(db_path)
    try:
        store.create_schema()
    finally:
        store.close()
    return True


def read_key_file(data_dir, name):
    path = os.path.join(data_dir, name)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise PintuError("cannot read %s: %s" % (path, exc.strerror)) from None


def open_store(data_dir):
    db_path = os.path.join(data_dir, DB_NAME)
    if not os.path.exists(db_path):
        raise PintuError("no pintu data in %s (run `pintu init` first)" % data_dir)
    return Store(db_path)


def _why_not_writable(path):
    """A hint for an operator when the database will not open: SQLite only says "unable to open database file"."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return " (the file system holding it is read-only)"
    except OSError:
        return ""
    if not os.access(folder, os.W_OK) or not os.access(path, os.W_OK):
        return " (it or its folder is not writable)"
    return ""


class Store:
    """One connection to the database. Use one Store per thread or process."""

    def __init__(self, path, timeout=BUSY_TIMEOUT_S):
        self.path = path
        old_umask = os.umask(0o077)  # the -wal and -shm files SQLite creates stay owner-only
        try:
            self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as e:
            raise PintuError("cannot open %s: %s%s" % (path, e, _why_not_writable(path))) from None
        finally:
            os.umask(old_umask)
        # WAL + NORMAL: a commit survives a crash of the process; only a power cut may lose the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (a purge) are overwritten, not left readable in free pages of the file.
        self._db.execute("PRAGMA secure_delete=ON")
        self._depth = 0
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise PintuError("%s has schema version %d; this pintu knows %d" % (path, version, SCHEMA_VERSION))

    def close(self):
        self._db.close()

    def create_schema(self):
        self._db.executescript("BEGIN;" + _SCHEMA + "PRAGMA user_version=%d; COMMIT;" % SCHEMA_VERSION)

    def schema_version(self):
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def write(self, rollback=False):
        """One write transaction, taken at once (BEGIN IMMEDIATE) so a read-then-write cannot race another
        connection. Nested uses join the outer transaction. rollback=True discards everything (dry runs)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            # SQLite may have rolled back already (SQLITE_FULL does): a second ROLLBACK would fail with "no
            # transaction is active" and hide the real error from the log.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._depth = 0
        self._db.execute("ROLLBACK" if rollback else "COMMIT")

    def _one(self, sql, args=()):
        return self._db.execute(sql, args).fetchone()

    def _all(self, sql, args=()):
        return self._db.execute(sql, args).fetchall()

    def _run(self, sql, args=()):
        return self._db.execute(sql, args)

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

    _SITE_FIELDS = ("name", "capacity", "policy", "referral", "max_stay_s", "yellow_admits", "accept_tests")

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

    # -- visits (occupancy)

    # Every change to open visits goes through open_visit, close_visit and close_stale_visits, which keep
    # sites.inside in step; call them inside write().

    def open_visit(self, person_id, site_id, role, now, how, door_id=None, operator=None):
        self._run(
            "INSERT INTO visits (person_id, site_id, role, check_in, how_in, door_in, operator)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (person_id, site_id, role, now, how, door_id, operator),
        )
        self._run("UPDATE sites SET inside = inside + 1 WHERE id = ?", (site_id,))

    def find_open_visit(self, person_id, site_id):
        return self._one(
            "SELECT * FROM visits WHERE person_id = ? AND site_id = ? AND check_out IS NULL", (person_id, site_id)
        )

    def close_visit(self, visit_id, site_id, now, how, door_id=None):
        cur = self._run(
            "UPDATE visits SET check_out = ?, how_out = ?, door_out = ? WHERE id = ? AND check_out IS NULL",
            (now, how, door_id, visit_id),
        )
        if cur.rowcount:
            self._run("UPDATE sites SET inside = inside - ? WHERE id = ?", (cur.rowcount, site_id))

    def close_stale_visits(self, site_id, cutoff, max_stay_s):
        """Close open visits that began before cutoff, as if the person left when the maximum stay ended."""
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

    def purge(self, cutoff):
        """Delete events, finished visits and resent-scan records older than cutoff. Returns counts."""
        counts = {}
        counts["scans"] = self._run("DELETE FROM scans WHERE time < ?", (cutoff,)).rowcount
        counts["events"] = self._run("DELETE FROM events WHERE time < ?", (cutoff,)).rowcount
        counts["visits"] = self._run(
            "DELETE FROM visits WHERE check_out IS NOT NULL AND check_out < ?", (cutoff,)
        ).rowcount
        return counts

    # -- for the benchmark: the baseline a decision is compared with

    def raw_person_lookup(self, person_id):
        return self._one("SELECT * FROM persons WHERE id = ?", (person_id,))

    def dump(self):
        """The whole database as SQL text (what `sqlite3 .dump` prints): used to audit what is on disk."""
        return "\n".join(self._db.iterdump())
