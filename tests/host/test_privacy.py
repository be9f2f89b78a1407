"""What is on disk: owner-only files, a versioned schema, and no NIK or raw QR text anywhere in the database."""

import os
import stat

from pintu import checkin, registry
from pintu.checkin import events, trace
from pintu.data.datadir import DataDir
from pintu.data.schema import SCHEMA_VERSION
from pintu.registry import cards

from .conftest import NIK, NOW, add_person


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_data_dir_is_owner_only(data):
    assert mode(data.path) == 0o700
    for name in os.listdir(data.path):
        assert mode(os.path.join(data.path, name)) == 0o600, name


def test_init_twice_keeps_the_keys(data):
    key = open(os.path.join(data.path, "issuing.key"), "rb").read()
    again, created = DataDir.init(data.path)
    again.close()
    assert not created
    assert open(os.path.join(data.path, "issuing.key"), "rb").read() == key


def test_schema_is_versioned(data):
    assert data.store.schema_version() == SCHEMA_VERSION


def test_no_nik_and_no_raw_code_on_disk(data, site, tmp_path):
    add_person(data, "budi", ["2021-06-01", "2021-07-01"], role="staff")
    add_person(data, "dewi", ["2021-06-01"], status="positive")
    add_person(data, "sari", ["2021-06-01"])
    rows = [(2, {"nik": NIK["eko"], "name": "Eko", "role": "visitor", "dose1": "2021-06-01", "dose2": "2021-07-01"})]
    registry.import_persons(data, rows, at=NOW)
    registry.add_device(data, "unit-1", "lobby")
    codes = [
        cards.issue_card(data, NIK[name], "kantor", tmp_path / ("%s.png" % name), at=NOW)["code"]
        for name in ("budi", "dewi", "sari", "eko")
    ]
    for i, code in enumerate(codes):
        checkin.decide_scan(data, code, device="unit-1", at=NOW + i, scan_ref=i)
        checkin.decide_scan(data, code, door="belakang", at=NOW + 100 + i)
    checkin.decide_scan(data, b"PN1:garbage", door="lobby", at=NOW)
    checkin.admit(data, "kantor", NIK["sari"], operator="Joko", at=NOW + 200)
    cards.revoke_cards(data, NIK["dewi"], at=NOW)
    checkin.decide_scan(data, codes[1], door="lobby", at=NOW + 300)
    trace.trace(data, NIK["budi"], at=NOW + 400)
    events.list_events(data, at=NOW + 400)
    if data.store.backend == "sqlite":
        data.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into pintu.db, read below

    dump = data.store.dump()
    files = b"".join(open(os.path.join(data.path, name), "rb").read() for name in os.listdir(data.path))
    for nik in NIK.values():
        assert nik not in dump
        assert nik.encode() not in files
    for code in codes:
        body = code[4:]
        assert body[:40] not in dump and code.encode() not in files
    assert "garbage" not in dump
    # events carry ids, not names
    for row in data.store.list_events():
        assert "Budi" not in repr(tuple(row))
