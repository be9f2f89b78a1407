"""Every bad input of issue 15's list: one line on stderr, exit 2, no traceback, and nothing written."""

import hashlib
import json
import os

import pytest
from click.testing import CliRunner

from pintu.cli import main

from .conftest import NIK

FAR = "99999999999"


@pytest.fixture
def office(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    data = tmp_path / "d"

    def run(*args, expect=0, input=None):
        result = runner.invoke(main, ["--data", str(data), *args], input=input)
        assert result.exit_code == expect, (args, result.exit_code, result.output, result.exception)
        return result

    run("init")
    run("site", "add", "kantor", "--name", "Kantor", "--capacity", "3", "--policy", "dose1", "--max-stay", "8h")
    run("door", "add", "lobby", "--site", "kantor", "--direction", "in")
    run("person", "add", "--nik", NIK["budi"], "--name", "Budi")
    run("person", "dose", NIK["budi"], "--date", "2021-06-01")
    run.data = data
    run.tmp = tmp_path
    return run


def fingerprint(folder):
    """What is on disk: the database's dump and every other file, so 'nothing written' is checked, not assumed."""
    from pintu.data.datadir import DataDir

    with DataDir(str(folder)) as data:
        dump = data.store.dump()
    files = sorted(
        (str(p.relative_to(folder)), p.read_bytes())
        for p in folder.rglob("*")
        if p.is_file() and "pintu.db" not in p.name
    )
    return hashlib.sha256(dump.encode() + repr(files).encode()).hexdigest()


CARD = "PN1:XYZ"
BAD = [
    # the tracebacks of issue 15
    (("check", "--door", "lobby", CARD, "--at", "0001-01-01"), "out of range"),
    (("check", "--door", "lobby", CARD, "--at", FAR + "d"), "too long"),
    (("events", "--since", "0001-01-01"), "out of range"),
    (("site", "add", "big", "--name", "B", "--capacity", str(2**63)), "capacity must be from 1 to 1,000,000"),
    (("site", "set", "kantor", "--max-stay", "%dw" % 10**15), "bad duration"),
    (("events", "--limit", str(2**70)), "--limit must be from 1"),
    (("purge", "--older-than", "99999999999999w", "--yes"), "bad duration"),
    # nonsense that was accepted
    (("person", "dose", NIK["budi"], "--date", "9999-12-31"), "out of range"),
    (("person", "dose", NIK["budi"], "--date", "2099-12-31"), "in the future"),
    (("person", "dose", NIK["budi"], "--date", "2019-12-31"), "out of range"),
    (("person", "add", "--nik", NIK["sari"], "--name", "\x1b[2J\x1b[31mSari"), "control character"),
    (("person", "add", "--nik", NIK["sari"], "--name", "Sa\x00ri"), "control character"),
    (("person", "add", "--nik", NIK["sari"], "--name", "Sari\u202egnp.exe"), "control character"),
    (("device", "add", "lobby-1", "--door", "lobby", "--board", "no-such-board"), "bad board"),
    (("device", "add", "pintu-host", "--door", "lobby"), "reserved"),
    (("device", "add", "u1", "--door", "lobby", "--link", "mqtt", "--wifi-ssid", "x", "--broker", "a b:1883"),
     "bad broker"),
    (("device", "add", "u1", "--door", "lobby", "--link", "mqtt", "--wifi-ssid", "x\ny", "--broker", "10.0.0.1"),
     "control character"),
    (("broker-config", "--out", "b", "--bind", "0.0.0.0\nallow_anonymous true"), "bad address"),
    (("broker-config", "--out", "b", "--bind", "localhost"), "bad address"),
    (("check", "--door", "lobby", CARD, "--at", "2099-01-01"), "add --dry-run"),
    (("site", "add", "s2", "--name", "S", "--capacity", "0"), "capacity must be from 1"),
    (("site", "add", "s2", "--name", "S", "--capacity", "5", "--max-stay", "8"), "bad duration"),
    (("site", "add", "s2", "--name", "S", "--capacity", "5", "--max-stay", "4m"), "too short"),
    (("site", "set", "kantor", "--referral", "Puskesmas\nX"), "control character"),
    (("person", "status", NIK["budi"], "positive", "--until", "2020-01-01"), "before"),
    (("purge", "--older-than", "30", "--yes"), "bad duration"),
    (("admit", "--site", "kantor", NIK["budi"], "--operator", "Joko\x1b[0m"), "control character"),
    (("checkout", "--site", "kantor", NIK["budi"], "--operator", "Joko\x1b[2J"), "control character"),
    (("confirm", "--site", "kantor", NIK["budi"], "--operator", "Joko\x07"), "control character"),
    (("refuse", "--site", "kantor", NIK["budi"], "--operator", "\x1b]0;x\x07"), "control character"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_refused_in_one_line_and_writes_nothing(office, args, message):
    before = fingerprint(office.data)
    result = office(*args, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pintu: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert "\x1b" not in result.stderr and "\x00" not in result.stderr  # shown escaped, never raw
    assert fingerprint(office.data) == before


def test_init_where_nothing_can_be_written_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["--data", "/proc/pintu-data", "init"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("pintu: ")


def test_check_in_the_future_with_dry_run_records_nothing(office):
    before = fingerprint(office.data)
    result = office("check", "--door", "lobby", CARD, "--at", "2099-01-01", "--dry-run", "--json", expect=3)
    assert json.loads(result.stdout)["verdict"] == "INVALID"
    assert fingerprint(office.data) == before


def test_dose_remove_takes_back_a_wrong_dose(office):
    budi = json.loads(office("person", "dose", NIK["budi"], "--date", "2021-07-01", "--json").stdout)
    assert [d["date"] for d in budi["doses"]] == ["2021-06-01", "2021-07-01"]
    budi = json.loads(office("person", "dose", "remove", NIK["budi"], "--number", "1", "--json").stdout)
    assert [(d["number"], d["date"]) for d in budi["doses"]] == [(1, "2021-07-01")]
    budi = json.loads(office("person", "dose", "remove", NIK["budi"], "--json").stdout)
    assert budi["doses"] == []
    assert "no dose recorded" in office("person", "dose", "remove", NIK["budi"], expect=2).stderr


def test_a_known_board_and_an_ip_bind_are_accepted(office):
    office("device", "add", "lobby-1", "--door", "lobby", "--board", "esp32c3-gm861")
    office("broker-config", "--out", "b", "--bind", "127.0.0.1")
    conf = (office.tmp / "b" / "mosquitto.conf").read_text()
    assert "listener 1883 127.0.0.1\n" in conf and os.stat(office.tmp / "b" / "mosquitto.conf").st_mode & 0o077 == 0
