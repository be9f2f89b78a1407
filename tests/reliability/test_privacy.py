"""Privacy end to end: what `pintu serve` logs, what the CLI prints, what the SQLite files and a door unit's flash
hold, and `pintu purge` of what is past retention."""

import json
import os
import subprocess
import time
from pathlib import Path

from firmware.app import FEEDBACK
from pintu import checkin
from pintu.data.datadir import DataDir
from pintu.registry import cards
from pintu.tech.simulator import SimulatedUnit
from tests.gateway.test_serve import PINTU
from tests.reliability.harness import Office, Serve, settle, wait_for
from tests.reliability.test_serial_faults import PtyStream

DAY = 86400


def _cli(office, *args, input=None):
    env = dict(os.environ, PINTU_DATA=office.path)
    result = subprocess.run(PINTU + list(args), env=env, capture_output=True, text=True, input=input, timeout=60)
    return result.stdout + result.stderr


def _files(folder):
    """Every file under folder, as bytes (the database, its WAL, keys, unit configs, logs...)."""
    out = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            out[str(path)] = path.read_bytes()
    return out


def test_no_nik_name_or_code_in_logs_cli_output_database_or_unit_flash(tmp_path):
    office = Office(tmp_path / "data", persons=8, units_in=1, units_out=1, link="serial")
    flash = tmp_path / "flash"
    streams, units = [], []
    for i, cfg in enumerate(office.configs):
        stream = PtyStream(str(tmp_path / ("tty%d" % i)))
        streams.append(stream)
        units.append(SimulatedUnit(dict(cfg, link={"kind": "serial", "repl_escape": False}), stream,
                                   workdir=flash / cfg["device_id"]))
    serve = Serve(office.path, ["-v"] + sum((["--serial", s.path] for s in streams), []), tmp_path / "serve.log")
    outputs = []
    try:
        for unit in units:
            unit.start()
        # The host is down: the entry unit queues its scans on flash.
        for code in office.codes[:3]:
            units[0].wait_idle(10)
            units[0].scan(code)
            assert wait_for(lambda: len(units[0].shown) and units[0].app.state == FEEDBACK, 10)
        assert wait_for(lambda: len(units[0].app.queue) == 3, 10)
        unit_files = _files(flash)
        queue = unit_files[str(flash / units[0].device_id / "queue")]
        assert office.codes[0] in queue  # what is queued is the card token itself...
        serve.start()
        assert settle(units, 60)
        for unit, codes in ((units[0], office.codes[3:6]), (units[1], office.codes[:2])):
            for code in codes:
                unit.wait_idle(10)
                n = len(unit.shown)
                unit.scan(code)
                assert wait_for(lambda unit=unit, n=n: len(unit.shown) > n, 15)
        assert settle(units, 30)
        outputs.append(_cli(office, "check", "--door", IN_DOOR, "-", input=office.codes[6].decode()))
        outputs.append(_cli(office, "check", "--door", IN_DOOR, "PN1:not-a-card"))
        outputs.append(_cli(office, "admit", "--site", "kantor", office.niks[7], "--operator", "Joko"))
        for args in (("events",), ("events", "--json"), ("occupancy",), ("occupancy", "--json"), ("device", "list"),
                     ("trace", office.niks[0]), ("purge", "--older-than", "400d", "--yes")):
            outputs.append(_cli(office, *args))
    finally:
        for unit in units:
            unit.stop()
        code = serve.stop()
        for stream in streams:
            stream.close()
    assert code == 0
    log = serve.log()
    assert log.count("-> ") >= 5 and "queued scan" in log
    with DataDir(office.path) as data:
        data.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dump = data.store.dump()
    on_disk = _files(office.path)
    unit_files.update(_files(flash))
    secrets = [(nik, "NIK") for nik in office.niks] + [(code.decode(), "code") for code in office.codes]
    secrets += [(code.decode()[4:40], "code body") for code in office.codes]
    for text, kind in secrets + [(name, "name") for name in office.names]:
        assert text not in log, (kind, text)
        for out in outputs:
            assert text not in out, (kind, text, out)
    for text, kind in secrets:
        assert text not in dump, (kind, text)
        for path, content in on_disk.items():
            assert text.encode() not in content, (kind, path)
    # Names live in persons.name (the registry's field for them), nowhere else in the database.
    for name in office.names:
        lines = [line for line in dump.splitlines() if name in line]
        assert lines and all(line.startswith('INSERT INTO "persons"') for line in lines), lines
    # A door unit's flash: config, counter and queue; no NIK, no name. Queued codes were card tokens (PN1:...).
    for path, content in unit_files.items():
        for nik in office.niks:
            assert nik.encode() not in content, path
        for name in office.names:
            assert name.encode() not in content, path
    assert json.loads(unit_files[str(flash / units[0].device_id / "pintu.json")])["device_id"] == "unit-1"


IN_DOOR = "lobby"


def test_purge_removes_what_is_past_retention(tmp_path):
    office = Office(tmp_path / "data", persons=8, units_in=1, units_out=1, link="serial")
    now = time.time()
    old = now - 40 * DAY
    with DataDir(office.path) as data:
        codes = [cards.issue_card(data, nik, "kantor", at=old - DAY)["code"] for nik in office.niks]
        # 40 days ago: person 0 in and out (a finished visit), person 1 in and never out (closed by max stay).
        checkin.decide_scan(data, codes[0], door="lobby", at=old)
        checkin.decide_scan(data, codes[0], door="belakang", at=old + 3600)
        checkin.decide_scan(data, codes[1], door="lobby", at=old + 60)
        checkin.decide_scan(data, codes[0], device="unit-1", at=old + 7200, scan_ref=77)
        checkin.admit(data, "kantor", office.niks[2], operator="Operator-Lama-Sekali", at=old + 120)
        checkin.decide_scan(data, codes[2], door="belakang", at=old + 180)
        # Today: person 4 inside, person 6 in and out (person 3 has no dose, 5 is positive).
        checkin.decide_scan(data, codes[4], door="lobby", at=now - 600)
        checkin.decide_scan(data, codes[6], door="lobby", at=now - 500)
        checkin.decide_scan(data, codes[6], door="belakang", at=now - 400)
        assert len(data.store.list_events()) == 9
    out = _cli(office, "purge", "--older-than", "30d", "--json", "--yes")
    result = json.loads(out)
    assert (result["events"], result["scans"]) == (6, 1)
    assert result["visits"] == 4  # person 0 twice (back in at +2 h), person 2, person 1 (closed at its max stay)
    with DataDir(office.path) as data:
        events = data.store.list_events()
        assert len(events) == 3 and all(row["time"] >= now - 30 * DAY for row in events)
        assert data.store.count_inside("kantor") == 1
        assert data.store.find_scan("device:unit-1", 77) is None
        visits = data.store._db.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
        assert visits == 2
        data.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # What was purged is gone from the file too, not just unlinked from the tables.
    for path, content in _files(office.path).items():
        assert b"Operator-Lama-Sekali" not in content, path
    # Purging again finds nothing; the CLI's plain output says what it did.
    assert "purged 0 events, 0 visits, 0 scan records" in _cli(office, "purge", "--older-than", "30d", "--yes")
