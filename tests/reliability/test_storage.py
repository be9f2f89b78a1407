"""Storage faults: the data directory's disk full or read-only -> the host admits nobody, says why, and recovers when
space returns; a power cut on a unit's queue file loses at most the scan being written.

Disk full and read-only are made for real where the test may: a 4 MB tmpfs mounted for the test (root only; it is
unmounted in a finally), filled with a filler file until ENOSPC, then remounted read-only. Without root, the same
checks run in process with SQLite's own limits on the gateway's connection (PRAGMA max_page_count for a full disk,
PRAGMA query_only for a read-only one)."""

import errno
import os
import subprocess
import time

import pytest

import pintu_protocol as p
from firmware import hw
from firmware.queue import OfflineQueue, Record, encode
from pintu.data.datadir import DataDir
from pintu.gateway.gateway import Gateway
from pintu_protocol.verdicts import BLACK, GREEN, INVALID, R_ALREADY_INSIDE, R_HOST_FAULT
from tests.gateway.conftest import make_office
from tests.gateway.test_gateway import Unit, ask
from tests.gateway.test_serve import PINTU, SerialUnit, start_serve, stop_serve
from tests.reliability.harness import wait_for

TMPFS_SIZE = "4m"


def _mount(path, options):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs of our own at tmp_path/disk, or a skip when this user may not mount one."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or _mount(mount_point, "size=%s,mode=0700" % TMPFS_SIZE).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs (the in-process tests below cover the same without root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(path):
    """Write a filler file until the filesystem says ENOSPC. -> the filler's path."""
    filler = path / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            block = b"\0" * chunk
            while True:
                try:
                    f.write(block)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
    return filler


def scan_answer(unit, code, timeout=6.0):
    """SCAN and the unit's view of it: the VERDICT, or None when the host said nothing (the unit shows OFFLINE)."""
    try:
        return unit.scan(code) if timeout is None else _scan_with_timeout(unit, code, timeout)
    except TimeoutError:
        return None


def _scan_with_timeout(unit, code, timeout):
    unit.scan_id += 1
    unit.send(p.Scan(unit.scan_id, "lobby", p.IN, code))
    return unit.receive(timeout)


def _check_cli(office, code):
    env = dict(os.environ, PINTU_DATA=office.path)
    return subprocess.run(PINTU + ["check", "--door", "lobby", code.decode()], env=env, capture_output=True,
                          text=True, timeout=60)


def test_disk_full_then_read_only_fail_closed_say_why_and_recover(small_disk, tmp_path):
    office = make_office(small_disk / "data", capacity=50)
    office.data.close()
    unit = SerialUnit(str(tmp_path / "ttyACM0"), office.units["door-1"])
    log = open(tmp_path / "serve.log", "w")
    serve = start_serve(office.path, "--serial", unit.path, log=log)
    filler = None
    try:
        time.sleep(0.8)
        unit.send(p.Hello("1.0.0", "esp32-devkitc-gm65", b""))
        assert isinstance(unit.receive(), p.Config)
        assert scan_answer(unit, office.codes["budi"]).verdict == GREEN

        filler = fill(small_disk)
        answer = scan_answer(unit, office.codes["dewi"])  # would be GREEN
        assert answer is None or (answer.verdict, answer.reason) == (INVALID, R_HOST_FAULT)
        cli = _check_cli(office, office.codes["dewi"])
        assert cli.returncode != 0 and "GREEN" not in cli.stdout
        assert "disk is full" in cli.stderr or "storage" in cli.stderr, cli.stderr
        assert wait_for(lambda: "database or disk is full" in (tmp_path / "serve.log").read_text(), 10)

        os.unlink(filler)  # space returns: the same host process admits again, no restart
        filler = None
        assert scan_answer(unit, office.codes["dewi"]).verdict == GREEN

    finally:
        if filler is not None:
            os.unlink(filler)
        code, _ = stop_serve(serve)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert code == 0, text
    assert "Traceback" not in text

    # Read-only: a file system remounted read-only (as Linux does after I/O errors) under a host that restarts.
    # The host will not start, says why in one line, and units show OFFLINE; once writable, a restart serves again.
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True, capture_output=True)
    try:
        env = dict(os.environ, PINTU_DATA=office.path)
        refused = subprocess.run(PINTU + ["serve", "--serial", unit.path], env=env, capture_output=True, text=True,
                                 timeout=30)
        assert refused.returncode != 0 and "read-only" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        cli = _check_cli(office, office.codes["sari"])
        assert cli.returncode != 0 and "read-only" in cli.stderr and "GREEN" not in cli.stdout
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True, capture_output=True)
    log = open(tmp_path / "serve2.log", "w")
    serve = start_serve(office.path, "--serial", unit.path, log=log)
    try:
        time.sleep(0.8)
        answer = scan_answer(unit, office.codes["andi"], timeout=10)  # positive: BLACK
        assert answer is not None and answer.verdict == BLACK
    finally:
        code, _ = stop_serve(serve)
        log.close()
    assert code == 0
    with DataDir(office.path) as data:  # only what was decided while storage worked is on record
        verdicts = [row["verdict"] for row in reversed(data.store.list_events())]
        assert verdicts == [GREEN, GREEN, BLACK] and data.store.count_inside("kantor") == 2


def test_gateway_refuses_while_sqlite_is_full_or_read_only_and_recovers(tmp_path, caplog):
    """The same without root: SQLite's own limits on the gateway's connection."""
    office = make_office(tmp_path / "data", capacity=50)
    try:
        gw = Gateway(office.data)
        unit = Unit(office.units["door-1"])
        db = office.data.store._db
        assert unit.answer(ask(gw, unit.scan(office.codes["budi"]))).verdict == GREEN
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute("PRAGMA max_page_count = %d" % pages)
        answered, failed = 1, False
        for _ in range(2000):  # RED scans (recorded, admitting nobody) until the file needs a page it may not have
            frames = ask(gw, unit.scan(office.codes["sari"]))
            if not frames or unit.answer(frames).verdict == INVALID:
                failed = True
                break
            answered += 1
        assert failed
        # The real reason is in the log (not a follow-up error such as "cannot rollback").
        messages = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert messages and all("database or disk is full" in m for m in messages), messages
        assert len(office.data.store.list_events()) == answered  # what was answered is on record, nothing else
        db.execute("PRAGMA max_page_count = 1073741823")
        unit.session.counters.tx += 100  # frames the host never accepted: the unit moved on
        assert unit.answer(ask(gw, unit.scan(office.codes["dewi"]))).verdict == GREEN

        caplog.clear()
        db.execute("PRAGMA query_only = ON")
        assert ask(gw, unit.scan(office.codes["eko"] if "eko" in office.codes else office.codes["sari"])) == []
        assert any("readonly" in r.getMessage() or "read-only" in r.getMessage() for r in caplog.records)
        db.execute("PRAGMA query_only = OFF")
        answer = unit.answer(ask(gw, unit.scan(office.codes["budi"])))  # answered again: already inside, refused
        assert (answer.verdict, answer.reason) == (INVALID, R_ALREADY_INSIDE)
        assert office.data.store.count_inside("kantor") == 2
    finally:
        office.data.close()


# -- the unit's flash: a power cut while the queue file is written ------------------------------------------------


def _record(i):
    return Record(1000 + i, 1700000000 + i, p.IN, "lobby", b"PN1:" + b"K" * (100 + i))


def test_power_cut_on_the_queue_file_loses_at_most_the_scan_being_written(tmp_path):
    """Real files (the unit's hw.Files on disk): the queue file cut at every byte of its last record."""
    whole = tmp_path / "whole"
    whole.mkdir()
    queue = OfflineQueue(hw.Files(str(whole)), 64)
    for i in range(5):
        queue.append(_record(i))
    data = (whole / "queue").read_bytes()
    last = len(encode(_record(4)))
    assert len(data) == sum(len(encode(_record(i))) for i in range(5))
    cuts = 0
    for cut in range(len(data) - last, len(data) + 1):
        folder = tmp_path / ("cut%d" % cut)
        folder.mkdir()
        (folder / "queue").write_bytes(data[:cut])
        loaded = OfflineQueue(hw.Files(str(folder)), 64)
        expected = 5 if cut == len(data) else 4
        assert len(loaded) == expected, cut
        loaded.append(_record(9))  # the repaired file takes new records
        again = OfflineQueue(hw.Files(str(folder)), 64)
        scans = []
        while len(again):
            scans.append(again.peek().scan)
            again.pop()
        assert scans == [1000 + i for i in range(expected)] + [1009], cut
        cuts += 1
    assert cuts == last + 1
