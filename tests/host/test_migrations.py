"""Schema migrations: an older database opened by this pintu is brought up to date in place, and a new one made
by `init` ends up with the same tables, indexes and version."""

import sqlite3

from pintu.data import schema
from pintu.data.datadir import DB_NAME, DataDir


def _layout(path):
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        return sorted(rows.fetchall()), db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def test_an_old_database_is_migrated_to_what_init_makes(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "MIGRATIONS", {
        2: "ALTER TABLE sites ADD COLUMN note TEXT NOT NULL DEFAULT '';"
           "CREATE TRIGGER note_kept BEFORE UPDATE OF note ON sites BEGIN SELECT RAISE(ABORT, 'no'); END;",
        3: "CREATE INDEX sites_note ON sites(note);",
    })
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)

    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / DB_NAME)  # a version-1 database, as the first release made it
    db.executescript(schema.SCHEMA + "PRAGMA user_version=1;")
    db.execute("INSERT INTO sites (id, name, capacity, policy, max_stay_s, created)"
               " VALUES ('s', 'S', 5, 'dose1', 60, 0)")
    db.commit()
    db.close()
    for name in ("nik.key", "issuing.key"):
        (old / name).write_bytes(b"k" * 32)
    DataDir(old).close()  # opening migrates

    fresh, _ = DataDir.init(tmp_path / "fresh")
    fresh.close()
    assert _layout(old / DB_NAME) == _layout(tmp_path / "fresh" / DB_NAME)
    assert _layout(old / DB_NAME)[1] == 3
    db = sqlite3.connect(old / DB_NAME)
    assert db.execute("SELECT id, note FROM sites").fetchall() == [("s", "")]  # rows kept, new column filled
    db.close()
