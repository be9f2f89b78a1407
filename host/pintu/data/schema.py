"""The database schema: every table and index the host keeps, and its version (PRAGMA user_version).

SCHEMA is version 1, as the first release created it; every later change is a numbered step in MIGRATIONS, run in
order both for a new database and for an existing one opened by a newer pintu (store.py), so both end up alike.

Both backends run these: a step is a plain string of SQL both understand (PostgreSQL gets its types translated by
dialect.ddl) or, when they differ (a trigger), a dict {"sqlite": "...", "postgresql": "..."} (dialect.step_sql).
"""

from pintu.data.dialect import ddl

SCHEMA = """CREATE TABLE sites (
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

# Issue 13's step (MIGRATIONS[3]): the tables alike on both engines; the rule that no visit ends before it began is
# two triggers on SQLite (which cannot add a CHECK to a table) and a CHECK constraint on PostgreSQL.
_STEP3 = """ALTER TABLE sites ADD COLUMN anti_passback TEXT NOT NULL DEFAULT 'hard';
ALTER TABLE sites ADD COLUMN hold_s INTEGER NOT NULL DEFAULT 60;
CREATE TABLE guards (
    id INTEGER PRIMARY KEY,
    cred_id BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites(id),
    issued TEXT NOT NULL,
    created INTEGER NOT NULL,
    revoked INTEGER
);
CREATE TABLE holds (
    id INTEGER PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    person_id INTEGER NOT NULL REFERENCES persons(id),
    role TEXT NOT NULL,
    door_id TEXT,
    device_id TEXT,
    event_id INTEGER NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    -- NULL while the place is held; then when and how it ended: confirmed, refused, expired or not_shown
    settled INTEGER,
    outcome TEXT,
    guard TEXT
);
-- One pending hold per person and site; the pending ones of a site are what capacity counts besides visits.
CREATE UNIQUE INDEX holds_pending_person ON holds(person_id, site_id) WHERE settled IS NULL;
CREATE INDEX holds_pending_site ON holds(site_id, expires) WHERE settled IS NULL;
-- A scan the unit showed OFFLINE although the host had decided it (its QUEUED replay says so): an admission it
-- made relied on nothing anybody saw (checkin/replays.py).
ALTER TABLE scans ADD COLUMN unshown INTEGER NOT NULL DEFAULT 0;
CREATE INDEX scans_event ON scans(event_id);
"""
_STEP3_SQLITE = """-- A visit cannot end before it began, whoever writes it (a late replay, a clock, a bug).
CREATE TRIGGER visits_out_after_in_insert BEFORE INSERT ON visits
WHEN NEW.check_out IS NOT NULL AND NEW.check_out < NEW.check_in
BEGIN SELECT RAISE(ABORT, 'check_out before check_in'); END;
CREATE TRIGGER visits_out_after_in_update BEFORE UPDATE OF check_in, check_out ON visits
WHEN NEW.check_out IS NOT NULL AND NEW.check_out < NEW.check_in
BEGIN SELECT RAISE(ABORT, 'check_out before check_in'); END;
"""
_STEP3_POSTGRESQL = """-- A visit cannot end before it began, whoever writes it (a late replay, a clock, a bug).
ALTER TABLE visits ADD CONSTRAINT visits_out_after_in CHECK (check_out IS NULL OR check_out >= check_in);
"""

# Issue 17's step (MIGRATIONS[5]): the number the registry cache checks (data/batching.py). Each change to the
# registry rows a decision reads adds one, in the changing transaction; the columns that change at every scan
# (sites.inside; devices' counters, last_seen, firmware, board) are not listed and change nothing. A later step that
# adds a site, door or device column a decision reads must add it to these triggers.
_SITE_COLUMNS = ("id, name, capacity, policy, referral, max_stay_s, yellow_admits, accept_tests, retention_s,"
                 " anti_passback, hold_s")
_WATCHED = (("sites", _SITE_COLUMNS), ("doors", "id, site_id, direction"), ("devices", "id, door_id, key, revoked"))
_STEP5 = """CREATE TABLE registry_generation (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO registry_generation (id, n) VALUES (1, 0);
"""
_STEP5_SQLITE = _STEP5 + "".join(
    "CREATE TRIGGER %s_generation_%s AFTER %s ON %s BEGIN UPDATE registry_generation SET n = n + 1; END;\n"
    % (table, name, event, table)
    for table, columns in _WATCHED
    for name, event in (("insert", "INSERT"), ("update", "UPDATE OF " + columns), ("delete", "DELETE"))
)
_STEP5_POSTGRESQL = ddl(_STEP5) + """CREATE FUNCTION registry_generation_bump() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN UPDATE registry_generation SET n = n + 1; RETURN NULL; END $$;
""" + "".join(
    "CREATE TRIGGER %s_generation AFTER INSERT OR DELETE OR UPDATE OF %s ON %s"
    " FOR EACH STATEMENT EXECUTE FUNCTION registry_generation_bump();\n" % (table, columns, table)
    for table, columns in _WATCHED
)

_STEP7 = """CREATE TABLE users (
    -- never reused (AUTOINCREMENT): a session names its account by id, and a removed guard's old cookie must not
    -- name an account added later (SQLite would otherwise give it max(id) + 1, the removed one's)
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    created INTEGER NOT NULL,
    disabled INTEGER,
    sessions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE user_sites (
    user_id INTEGER NOT NULL REFERENCES users(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    PRIMARY KEY (user_id, site_id)
) WITHOUT ROWID;
CREATE TABLE alert_acks (
    event_id INTEGER PRIMARY KEY,
    site_id TEXT,
    by_user TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX events_site_flagged ON events(site_id, flagged, time);
"""

# version -> SQL that takes a database from version - 1 to version. Append only: a released step never changes.
MIGRATIONS = {
    # Issue 15, retention: a row standing for an EU certificate's holder is marked, so a purge can remove it once no
    # event or visit refers to it (rows made before this step cannot be told from registry persons and stay); each
    # site keeps its record for retention_s (30 days by default; SafeEntry kept 25) and `pintu serve` purges daily;
    # events are looked up by person for that and for `events --names`.
    2: "ALTER TABLE persons ADD COLUMN holder INTEGER NOT NULL DEFAULT 0;"
       "ALTER TABLE sites ADD COLUMN retention_s INTEGER NOT NULL DEFAULT 2592000;"
       "CREATE INDEX events_person ON events(person_id);",
    # Issue 13: the count is the truth. Anti-passback and the guard's hold time per site; guards and their cards;
    # YELLOW holds (a place kept for the guard's check, the door shut); no visit may end before it began.
    3: {"sqlite": _STEP3 + _STEP3_SQLITE, "postgresql": ddl(_STEP3) + _STEP3_POSTGRESQL},
    # Issue 16, several workers: a sliding anti-replay window per device (data/replay_window.py) beside rx_counter,
    # its highest accepted counter. Devices that exist already get a full window: every counter up to rx_counter
    # counts as seen, so none of the frames accepted before this step can be replayed.
    4: "ALTER TABLE devices ADD COLUMN rx_window INTEGER NOT NULL DEFAULT 0;"
       "UPDATE devices SET rx_window = -1;",
    # Issue 17, fewer statements per decision: the registry rows a decision reads are cached in memory and trusted
    # while registry_generation keeps its number (data/batching.py).
    5: {"sqlite": _STEP5_SQLITE, "postgresql": _STEP5_POSTGRESQL},
    # Issue 19: a hold confirmed by hand (`pintu confirm`, the console) opens the door the visitor waits at. The
    # confirmation records it on the holds row, in its own transaction: which of the unit's scans showed the HOLD
    # (open_scan), the GREEN/guard_confirmed event the unit is shown (open_event), and the moment after which the door
    # must no longer open (open_until); a gateway worker claims it, sends it and marks it done (checkin/door_opens.py).
    6: "ALTER TABLE holds ADD COLUMN open_scan INTEGER;"
       "ALTER TABLE holds ADD COLUMN open_event INTEGER;"
       "ALTER TABLE holds ADD COLUMN open_until INTEGER;"
       "ALTER TABLE holds ADD COLUMN open_done INTEGER;"
       "ALTER TABLE holds ADD COLUMN open_outcome TEXT;"
       "CREATE INDEX holds_open_pending ON holds(open_until) WHERE open_until IS NOT NULL AND open_done IS NULL;",
    # Issue 19, the web console: its accounts (an argon2 hash, never the password; `sessions` is bumped by a new
    # password or a disabled account, which ends every session signed before), the sites a guard or an office admin
    # answers for, and the BLACK alerts a guard acknowledged (so a reloaded door view keeps the unacknowledged ones).
    7: _STEP7,
}

SCHEMA_VERSION = max(MIGRATIONS, default=1)
