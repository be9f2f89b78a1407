"""`pintu init --database`: the records in PostgreSQL, the keys in the data directory; what the data directory
refuses. (The rest of the host suite runs on both backends through the `backend` fixture, tests/conftest.py.)"""

import json
import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from pintu import registry
from pintu.cli import main
from pintu.data.datadir import CONFIG_NAME, DB_NAME, ISSUING_KEY_NAME, NIK_KEY_NAME, DataDir
from pintu.errors import PintuError
from tests.conftest import create_postgres_database, drop_postgres_database

from .conftest import NIK


def test_init_database_keeps_keys_here_and_the_url_owner_only(tmp_path, url):
    folder = tmp_path / "d"
    result = CliRunner().invoke(main, ["--data", str(folder), "init", "--database", url])
    assert result.exit_code == 0, result.output
    assert {CONFIG_NAME, NIK_KEY_NAME, ISSUING_KEY_NAME} <= set(os.listdir(folder))
    assert not (folder / DB_NAME).exists()
    for name in (CONFIG_NAME, NIK_KEY_NAME, ISSUING_KEY_NAME):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert json.loads((folder / CONFIG_NAME).read_text()) == {"database": url}
    with DataDir(folder) as data:
        assert data.store.backend == "postgresql"
        registry.add_site(data, "kantor", "Kantor", 3, "full", "", "8h")
        registry.add_person(data, NIK["budi"], "Budi")
    # Another process (here a new DataDir) sees the same records through the URL.
    with DataDir(folder) as data:
        assert [row["id"] for row in data.store.list_sites()] == ["kantor"]
        dump = data.store.dump()
        assert NIK["budi"] not in dump and "kantor" in dump
    again = CliRunner().invoke(main, ["--data", str(folder), "init", "--database", url])
    assert again.exit_code == 0 and "already initialised" in again.output


def test_a_database_of_another_data_dir_is_refused(tmp_path, url):
    DataDir.init(tmp_path / "first", database=url)[0].close()
    # Its NIK hashes and cards belong to the first folder's keys: a second folder must not share them.
    with pytest.raises(PintuError, match="already holds pintu data"):
        DataDir.init(tmp_path / "second", database=url)
    with pytest.raises(PintuError, match="already has a database"):
        DataDir.init(tmp_path / "first", database=url + "_other")


@pytest.mark.parametrize("bad", ["mysql://x/y", "/tmp/x.db", "postgresql"])
def test_init_refuses_what_is_not_a_postgresql_url(tmp_path, bad):
    result = CliRunner().invoke(main, ["--data", str(tmp_path / "d"), "init", "--database", bad])
    assert result.exit_code == 2 and "postgresql://" in result.stderr
    assert not (tmp_path / "d").exists()


def test_unreachable_server_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["--data", str(tmp_path / "d"), "init", "--database",
                                       "postgresql://postgres@127.0.0.1:1/none"])
    assert result.exit_code == 2 and "cannot reach PostgreSQL" in result.stderr
    assert "Traceback" not in result.output


def _columns(store):
    return store._all("SELECT table_name, column_name, data_type FROM information_schema.columns"
                      " WHERE table_schema = current_schema() ORDER BY 1, 2")


def test_an_older_postgresql_database_is_migrated_to_what_init_makes(tmp_path, monkeypatch, url):
    from pintu.data import schema

    current = dict(schema.MIGRATIONS), schema.SCHEMA_VERSION
    # From before the window step (4): every later step runs on existing rows, the window's backfill among them.
    older = {v: sql for v, sql in current[0].items() if v < 4}
    monkeypatch.setattr(schema, "MIGRATIONS", older)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", max(older))
    with DataDir.init(tmp_path / "old", database=url)[0] as data:
        registry.add_site(data, "kantor", "Kantor", 3, "full", "", "8h")
        registry.add_device(data, "unit-1")
    monkeypatch.setattr(schema, "MIGRATIONS", current[0])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", current[1])
    # A per-backend step (a trigger is written differently in each) is taken as its backend's SQL.
    fresh_url = create_postgres_database()
    try:
        with DataDir(tmp_path / "old") as old, DataDir.init(tmp_path / "fresh", database=fresh_url)[0] as fresh:
            assert old.store.schema_version() == fresh.store.schema_version() == current[1]
            assert _columns(old.store) == _columns(fresh.store)
            # devices from before the window have every counter up to rx_counter seen
            assert old.store.get_device("unit-1")["rx_window"] == -1
    finally:
        drop_postgres_database(fresh_url)


def test_a_migration_step_may_name_each_backends_sql(tmp_path, monkeypatch, url):
    from pintu.data import schema

    trigger = {
        "sqlite": "CREATE TRIGGER no_zero BEFORE INSERT ON sites WHEN NEW.capacity = 0"
                  " BEGIN SELECT RAISE(ABORT, 'capacity 0'); END;",
        "postgresql": "CREATE FUNCTION no_zero() RETURNS trigger AS $$ BEGIN IF NEW.capacity = 0 THEN"
                      " RAISE EXCEPTION 'capacity 0'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;"
                      "CREATE TRIGGER no_zero BEFORE INSERT ON sites FOR EACH ROW EXECUTE FUNCTION no_zero();",
    }
    steps = dict(schema.MIGRATIONS)
    steps[schema.SCHEMA_VERSION + 1] = trigger
    monkeypatch.setattr(schema, "MIGRATIONS", steps)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    for folder, database in (("lite", None), ("pg", url)):
        with DataDir.init(tmp_path / folder, database=database)[0] as data:
            with pytest.raises(sqlite3.Error, match="capacity 0"), data.store.write():
                data.store._run("INSERT INTO sites (id, name, capacity, policy, max_stay_s, created)"
                                " VALUES ('s', 'S', 0, 'full', 60, 0)")
            assert data.store.list_sites() == []
