"""The database schema: every table and index the host keeps, and its version (PRAGMA user_version).

SCHEMA is version 1, as the first release created it; every later change is a numbered step in MIGRATIONS, run in
order both for a new database and for an existing one opened by a newer pintu (store.py), so both end up alike.

Both backends run these: a step is a plain string of SQL both understand (PostgreSQL gets its types translated by
dialect.ddl) or, when they differ (a trigger), a dict {"sqlite": "...", "postgresql": "..."} (dialect.step_sql).
"""

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

# version -> SQL that takes a database from version - 1 to version. Append only: a released step never changes.
MIGRATIONS = {
    # Issue 15, retention: a row standing for an EU certificate's holder is marked, so a purge can remove it once no
    # event or visit refers to it (rows made before this step cannot be told from registry persons and stay); each
    # site keeps its record for retention_s (30 days by default; SafeEntry kept 25) and `pintu serve` purges daily;
    # events are looked up by person for that and for `events --names`.
    2: "ALTER TABLE persons ADD COLUMN holder INTEGER NOT NULL DEFAULT 0;"
       "ALTER TABLE sites ADD COLUMN retention_s INTEGER NOT NULL DEFAULT 2592000;"
       "CREATE INDEX events_person ON events(person_id);",
    # Issue 16, several workers: a sliding anti-replay window per device (data/replay_window.py) beside rx_counter,
    # its highest accepted counter. Devices that exist already get a full window: every counter up to rx_counter
    # counts as seen, so none of the frames accepted before this step can be replayed.
    3: "ALTER TABLE devices ADD COLUMN rx_window INTEGER NOT NULL DEFAULT 0;"
       "UPDATE devices SET rx_window = -1;",
}

SCHEMA_VERSION = max(MIGRATIONS, default=1)
