"""Retention (issue 15): purge shows and asks, each site keeps its record for its --retention, `pintu serve` applies
it, and the rows standing for EU certificate holders go with their last event."""

import sqlite3

import pytest
from click.testing import CliRunner

from pintu import checkin, registry
from pintu.checkin import events
from pintu.cli import main
from pintu.data import schema
from pintu.data.datadir import DB_NAME, DataDir
from pintu.errors import PintuError
from pintu.gateway.server import Server
from pintu_protocol.verdicts import R_OK, YELLOW

from .conftest import NIK, NOW, add_person

DAY = 86400


def holder_with_event(data, key, at):
    with data.store.write():
        person_id = data.store.insert_holder(key, int(at))
        data.store.insert_event(at, "kantor", "lobby", None, YELLOW, R_OK, person_id, "card", None, False, 0, 3, "",
                                False)
    return person_id


def test_purge_by_site_retention_and_holders_go_with_their_last_event(data, site):
    registry.set_site(data, "kantor", retention="2d")
    add_person(data, "budi", ["2021-06-01", "2021-07-01"])
    old = holder_with_event(data, b"h" * 32, NOW - 5 * DAY)
    recent = holder_with_event(data, b"r" * 32, NOW - 1 * DAY)
    checkin.admit(data, "kantor", NIK["budi"], at=NOW - 3 * DAY)
    result = events.purge(data, at=NOW)  # no --older-than: each site's retention
    assert (result["events"], result["holders"], result["visits"]) == (2, 1, 1)
    assert data.store.get_person(old) is None and data.store.get_person(recent) is not None
    assert registry.show_person(data, NIK["budi"])["name"] == "Budi"  # registry persons stay
    assert [e["person"] for e in events.list_events(data, at=NOW)] == [recent]


def test_a_dry_run_counts_and_deletes_nothing(data, site):
    holder_with_event(data, b"h" * 32, NOW - 40 * DAY)
    plan = events.purge(data, "30d", at=NOW, dry_run=True)
    assert (plan["events"], plan["holders"], plan["dry_run"]) == (1, 1, True)
    assert len(data.store.list_events()) == 1


@pytest.mark.parametrize("retention", ["0d", "12h", "30", "forever"])
def test_site_retention_needs_a_unit_and_at_least_a_day(data, site, retention):
    with pytest.raises(PintuError, match="retention"):
        registry.set_site(data, "kantor", retention=retention)


def test_cli_purge_shows_and_needs_yes(tmp_path):
    runner = CliRunner()
    folder = str(tmp_path / "d")
    assert runner.invoke(main, ["--data", folder, "init"]).exit_code == 0
    with DataDir(folder) as data:
        registry.add_site(data, "kantor", "Kantor", 3)
        holder_with_event(data, b"h" * 32, NOW)
    for older_than in ("0d", "30d"):
        asked = runner.invoke(main, ["--data", folder, "purge", "--older-than", older_than])
        assert asked.exit_code == 2 and "would delete 1 events" in asked.stderr and "--yes" in asked.stderr
    refused = runner.invoke(main, ["--data", folder, "purge", "--older-than", "30"])
    assert refused.exit_code == 2 and "bad duration" in refused.stderr  # 30 what? (it meant hours before)
    with DataDir(folder) as data:
        assert len(data.store.list_events()) == 1
    done = runner.invoke(main, ["--data", folder, "purge", "--older-than", "0d", "--yes"])
    assert done.exit_code == 0 and "purged 1 events" in done.stdout and "1 certificate holders" in done.stdout


def test_serve_applies_the_sites_retention(tmp_path):
    data, _ = DataDir.init(tmp_path / "d")
    with data:
        registry.add_site(data, "kantor", "Kantor", 3)
        holder_with_event(data, b"h" * 32, NOW)  # 2021: far past 30 days
    server = Server(str(tmp_path / "d"), ["loop://"])
    try:
        server.apply_retention()
        assert server.data.store.list_events() == []
    finally:
        server.stop()


def test_an_older_database_gets_the_retention_columns(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite3.connect(folder / DB_NAME)
    db.executescript(schema.SCHEMA + "PRAGMA user_version=1;")
    db.execute("INSERT INTO sites (id, name, capacity, policy, max_stay_s, created)"
               " VALUES ('s', 'S', 5, 'dose1', 60, 0)")
    db.commit()
    db.close()
    for name in ("nik.key", "issuing.key"):
        (folder / name).write_bytes(b"k" * 32)
    with DataDir(folder) as data:
        assert registry.show_site(data, "s")["retention"] == "30d"
        assert data.store.schema_version() == schema.SCHEMA_VERSION
