"""`pintu migrate --to postgresql://...`: an SQLite data directory's whole record copied into PostgreSQL, ids and
all, and the directory working on PostgreSQL afterwards with the same keys."""

from click.testing import CliRunner

from pintu import checkin, registry
from pintu.cli import main
from pintu.data.datadir import DataDir
from pintu.data.transfer import MADE_BY_SCHEMA, TABLES
from pintu.registry import cards, guards
from pintu_protocol.verdicts import GREEN, HOLD

from .conftest import NIK, NOW, add_person


def _rows(store, table):
    rows = store._all("SELECT * FROM %s" % table)
    return sorted(tuple((k, row[k]) for k in sorted(row.keys()) if k != "rowid") for row in rows)


def test_migrate_copies_everything_and_the_directory_carries_on(tmp_path, url):
    folder = tmp_path / "d"
    with DataDir.init(folder)[0] as data:
        registry.add_site(data, "kantor", "Kantor", 3, "full", "Puskesmas", "8h")
        registry.add_door(data, "lobby", "kantor", "in")
        registry.add_device(data, "unit-1", "lobby")
        codes = {}
        for name in ("budi", "dewi"):
            add_person(data, name, ["2021-06-01", "2021-07-01"])
            codes[name] = cards.issue_card(data, NIK[name], "kantor", at=NOW)["code"]
        assert checkin.decide_scan(data, codes["budi"], device="unit-1", at=NOW, scan_ref=1).verdict == GREEN
        assert data.store.accept_rx_counter("unit-1", 7) == "accepted"
        guard = guards.add_guard(data, "Joko", "kantor", at=NOW)
        add_person(data, "sari", ["2021-06-01"])  # one dose: YELLOW under "full", a place held for the guard
        sari = cards.issue_card(data, NIK["sari"], "kantor", at=NOW)["code"]
        assert checkin.decide_scan(data, sari, device="unit-1", at=NOW + 1, scan_ref=2).verdict == HOLD
        before = {table: _rows(data.store, table) for table in TABLES}

    result = CliRunner().invoke(main, ["--data", str(folder), "migrate", "--to", url])
    assert result.exit_code == 0, result.output
    assert "delete it" in result.output

    with DataDir(folder) as data:
        assert data.store.backend == "postgresql"
        assert {table: _rows(data.store, table) for table in TABLES} == before
        # The same keys: the cards issued before still verify; a resent scan gets its stored decision; new rows
        # are numbered after the copied ones.
        again = checkin.decide_scan(data, codes["budi"], device="unit-1", at=NOW + 5, scan_ref=1)
        assert again.verdict == GREEN and data.store.count_inside("kantor") == 1
        # The held place and the guard's card came along: the guard confirms the YELLOW held before the move.
        confirmed = checkin.decide_scan(data, guard["code"], device="unit-1", at=NOW + 7, scan_ref=3)
        assert confirmed.verdict == GREEN and data.store.count_inside("kantor") == 2
        assert checkin.decide_scan(data, codes["dewi"], device="unit-1", at=NOW + 9, scan_ref=4).verdict == GREEN
        assert data.store.count_inside("kantor") == 3
        assert data.store.accept_rx_counter("unit-1", 7) == "duplicate"  # the replay window came along

    refused = CliRunner().invoke(main, ["--data", str(folder), "migrate", "--to", url])
    assert refused.exit_code == 2 and "already uses PostgreSQL" in refused.stderr


def test_migrate_into_a_database_with_pintu_data_changes_nothing(tmp_path, url):
    DataDir.init(tmp_path / "other", database=url)[0].close()
    DataDir.init(tmp_path / "d")[0].close()
    result = CliRunner().invoke(main, ["--data", str(tmp_path / "d"), "migrate", "--to", url])
    assert result.exit_code == 2 and "already holds pintu data" in result.stderr
    with DataDir(tmp_path / "d") as data:
        assert data.store.backend == "sqlite"


def test_every_table_of_the_record_is_migrated(tmp_path):
    """A table added by a later schema step and forgotten in TABLES would be dropped by `pintu migrate` silently."""
    with DataDir.init(tmp_path / "d")[0] as data:
        assert sorted(TABLES + MADE_BY_SCHEMA) == sorted(data.store.tables())
