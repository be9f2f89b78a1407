"""The `pintu` command line through click's CliRunner: exact surface, --json shapes, exit codes 0/2/3."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pintu.cli import main

from .conftest import NIK

HEADER = "nik,name,role,dose1,dose2,dose3,status,status_until\n"


@pytest.fixture
def pintu(tmp_path, monkeypatch, database):
    """`pintu --data DIR ...`; on PostgreSQL, `pintu init` takes the test's database from PINTU_DATABASE."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"PINTU_DATABASE": database} if database else None)

    def run(*args, expect=0, input=None):
        result = runner.invoke(main, ["--data", str(tmp_path / "d"), *args], input=input)
        assert result.exit_code == expect, (args, result.exit_code, result.output, result.exception)
        if expect == 2:
            lines = result.stderr.strip().splitlines()
            assert len(lines) >= 1 and lines[-1].startswith("pintu: ") and "Traceback" not in result.output
        return result

    run.tmp = tmp_path
    return run


@pytest.fixture
def ready(pintu):
    pintu("init")
    pintu(
        "site",
        "add",
        "kantor",
        "--name",
        "Kantor Walikota",
        "--capacity",
        "3",
        "--policy",
        "full",
        "--referral",
        "Puskesmas Karang Kitri",
        "--max-stay",
        "8h",
    )
    pintu("door", "add", "lobby", "--site", "kantor", "--direction", "in")
    pintu("door", "add", "belakang", "--site", "kantor", "--direction", "out")
    return pintu


def jrun(pintu, *args, expect=0):
    return json.loads(pintu(*args, "--json", expect=expect).stdout)


def test_init(pintu):
    assert "initialised" in pintu("init").stdout
    assert "already initialised" in pintu("init").stdout
    assert oct(os.stat(pintu.tmp / "d").st_mode & 0o777) == "0o700"


def test_commands_need_init(pintu):
    result = pintu("site", "list", expect=2)
    assert "pintu init" in result.stderr


def test_data_dir_from_environment(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env={"PINTU_DATA": str(tmp_path / "env")}).exit_code == 0
    assert (tmp_path / "env" / "pintu.db").exists()


def test_sites(ready):
    assert jrun(ready, "site", "list") == [
        {
            "site": "kantor",
            "name": "Kantor Walikota",
            "capacity": 3,
            "policy": "full",
            "referral": "Puskesmas Karang Kitri",
            "max_stay": "8h",
            "retention": "30d",
            "yellow_admits": True,
            "accept_tests": False,
            "anti_passback": "hard",
            "hold": "1m",
        }
    ]
    shown = jrun(ready, "site", "show", "kantor")
    assert [d["door"] for d in shown["doors"]] == ["belakang", "lobby"]
    changed = jrun(ready, "site", "set", "kantor", "--capacity", "5", "--policy", "booster", "--no-yellow-admits")
    assert (changed["capacity"], changed["policy"], changed["yellow_admits"]) == (5, "booster", False)
    assert jrun(ready, "site", "set", "kantor", "--accept-tests")["accept_tests"] is True
    changed = jrun(ready, "site", "set", "kantor", "--anti-passback", "soft", "--hold", "90s")
    assert (changed["anti_passback"], changed["hold"]) == ("soft", "90s")
    assert "a number and a unit" in ready("site", "set", "kantor", "--hold", "60", expect=2).stderr
    assert "between" in ready("site", "set", "kantor", "--hold", "2h", expect=2).stderr
    assert jrun(ready, "site", "show", "kantor")["hold"] == "90s"  # a refused value changes nothing
    table = ready("site", "list").stdout
    assert table.splitlines()[0].split()[:3] == ["SITE", "NAME", "CAPACITY"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("site", "show", "nowhere"), "unknown site"),
        (("site", "add", "x", "--name", "X"), "--capacity"),
        (("site", "add", "x", "--name", "X", "--capacity", "3", "--max-stay", "soon"), "bad duration"),
        (("site", "set", "nowhere", "--capacity", "3"), "unknown site"),
        (("door", "add", "d", "--site", "nowhere", "--direction", "in"), "unknown site"),
        (("person", "add", "--nik", "123", "--name", "X"), "malformed NIK"),
        (("person", "dose", NIK["budi"], "--date", "2021-06-01"), "no person"),
        (("person", "status", NIK["budi"], "positive"), "no person"),
        (("check", "--door", "nowhere", "PN1:X"), "unknown door"),
        (("admit", "--site", "nowhere", NIK["budi"]), "unknown site"),
        (("occupancy", "nowhere"), "unknown site"),
        (("events", "--verdict", "PURPLE"), "unknown verdict"),
        (("events", "--since", "last tuesday"), "bad time"),
        (("purge", "--older-than", "ages"), "bad duration"),
        (("card", NIK["budi"], "--site", "kantor", "--out", "x.gif"), ".png or .svg"),
        (("person", "import", "missing.csv"), "cannot read"),
        (("site", "add", "x", "--capacity", "many"), "Invalid value"),  # click's own usage error: also exit 2
    ],
)
def test_bad_input_is_one_line_and_exit_2(ready, args, message):
    result = ready(*args, expect=2)
    assert message in result.stderr


def test_persons_and_doses(ready):
    person = jrun(ready, "person", "add", "--nik", NIK["budi"], "--name", "Budi", "--role", "staff")
    assert person["role"] == "staff" and person["doses"] == []
    person = jrun(ready, "person", "dose", NIK["budi"], "--date", "2021-06-01", "--vaccine", "Sinovac")
    assert person["doses"] == [{"number": 1, "date": "2021-06-01", "vaccine": "Sinovac"}]
    ready("person", "dose", NIK["budi"], "--date", "2021-06-31", expect=2)
    person = jrun(ready, "person", "status", NIK["budi"], "contact", "--until", "2099-01-01")
    assert person["status"] == "contact" and person["status_active"]
    assert "Budi" in ready("person", "show", NIK["budi"]).stdout
    ready("person", "status", NIK["budi"], "sick", expect=2)


def test_import_all_or_nothing(ready):
    csv = ready.tmp / "p.csv"
    csv.write_text(
        HEADER + "%s,Budi,staff,2021-06-01,,,,\nbad,X,visitor,,,,,\n%s,Sari,x,,,,,\n" % (NIK["budi"], NIK["sari"])
    )
    result = ready("person", "import", str(csv), expect=2)
    assert "line 3: malformed NIK" in result.stderr and "line 4: bad role" in result.stderr
    assert "nothing imported" in result.stderr.splitlines()[-1]
    ready("person", "show", NIK["budi"], expect=2)
    report = jrun(ready, "person", "import", str(csv), "--skip-bad")
    assert report["rows"] == 3 and report["imported"] == 1 and [b["line"] for b in report["bad"]] == [3, 4]
    assert "Budi" in ready("person", "show", NIK["budi"]).stdout


def test_import_shows_progress(ready):
    csv = ready.tmp / "p.csv"
    csv.write_text(HEADER + "%s,Budi,staff,2021-06-01,,,,\n" % NIK["budi"])
    result = ready("person", "import", str(csv))
    assert "checking rows" in result.stderr and "imported 1 of 1 rows" in result.stdout


def _people(ready):
    csv = ready.tmp / "p.csv"
    csv.write_text(
        HEADER
        + "".join(
            [
                "%s,Budi,staff,2021-06-01,2021-07-01,,,\n" % NIK["budi"],
                "%s,Sari,visitor,2021-08-10,,,,\n" % NIK["sari"],
                "%s,Andi,visitor,,,,,\n" % NIK["andi"],
                "%s,Dewi,asn,2021-05-01,2021-06-01,,positive,2099-01-01\n" % NIK["dewi"],
                "%s,Eko,visitor,2021-07-01,2021-08-01,,,\n" % NIK["eko"],
                "%s,Fajar,staff,2021-07-01,2021-08-01,,,\n" % NIK["fajar"],
            ]
        )
    )
    ready("person", "import", str(csv))
    return {name: jrun(ready, "card", NIK[name], "--site", "kantor")["code"] for name in NIK}


def test_card_prints_the_code_and_writes_the_file(ready):
    _people(ready)
    result = ready("card", NIK["budi"], "--site", "kantor", "--out", "budi.svg")
    assert result.stdout.startswith("PN1:") and len(result.stdout.strip().splitlines()) == 1
    assert (ready.tmp / "budi.svg").exists()
    shown = jrun(ready, "card", NIK["budi"], "--site", "kantor", "--out", "budi.png")
    assert set(shown) == {"code", "credential", "serial", "issued", "person", "site", "file"}
    assert jrun(ready, "card", "revoke", NIK["budi"]) == {"person": 1, "revoked": 3}


def test_check_json_and_exit_codes(ready):
    codes = _people(ready)
    decision = jrun(ready, "check", "--door", "lobby", codes["budi"])
    assert {k: decision[k] for k in ("verdict", "reason", "site", "occupancy", "capacity")} == {
        "verdict": "GREEN",
        "reason": "ok",
        "site": "kantor",
        "occupancy": 1,
        "capacity": 3,
    }
    held = jrun(ready, "check", "--door", "lobby", codes["sari"], expect=3)  # the door stays shut: a place is held
    assert (held["verdict"], held["reason"], held["admitted"]) == ("HOLD", "guard_check", False)
    confirmed = jrun(ready, "confirm", "--site", "kantor", NIK["sari"], "--operator", "Joko")
    assert (confirmed["verdict"], confirmed["reason"], confirmed["occupancy"]) == ("GREEN", "guard_confirmed", 2)
    red = jrun(ready, "check", "--door", "lobby", codes["andi"], expect=3)
    assert (red["verdict"], red["referral"]) == ("RED", "Puskesmas Karang Kitri")
    assert jrun(ready, "check", "--door", "lobby", codes["dewi"], expect=3)["verdict"] == "BLACK"
    assert jrun(ready, "admit", "--site", "kantor", NIK["fajar"], "--operator", "Joko")["verdict"] == "GREEN"
    assert jrun(ready, "check", "--door", "lobby", codes["eko"], expect=3)["verdict"] == "FULL"
    assert jrun(ready, "check", "--door", "lobby", "PN1:NOPE", expect=3)["verdict"] == "INVALID"
    assert jrun(ready, "checkout", "--site", "kantor", NIK["fajar"])["reason"] == "checked_out"  # a manual admission
    assert jrun(ready, "check", "--door", "belakang", codes["budi"])["verdict"] == "EXIT"
    assert "GREEN" in ready("check", "--door", "lobby", "-", input=codes["budi"] + "\n").stdout


def test_check_dry_run_records_nothing(ready):
    codes = _people(ready)
    assert jrun(ready, "check", "--door", "lobby", codes["budi"], "--dry-run")["verdict"] == "GREEN"
    assert jrun(ready, "occupancy", "kantor")[0]["inside"] == 0
    assert jrun(ready, "events") == []


def test_check_at_a_given_time(ready):
    codes = _people(ready)
    # Dewi's positive status ends on 2099-01-01; the day after she is GREEN. Her card is not valid in 2021.
    assert jrun(ready, "check", "--door", "lobby", codes["dewi"], "--at", "2099-01-02T09:00",
                "--dry-run")["verdict"] == "GREEN"
    early = jrun(ready, "check", "--door", "lobby", codes["dewi"], "--at", "2021-05-15", expect=3)
    assert (early["verdict"], early["reason"]) == ("INVALID", "not_yet_valid")


def test_admit_refused_exit_3(ready):
    _people(ready)
    assert jrun(ready, "admit", "--site", "kantor", NIK["andi"], expect=3)["verdict"] == "RED"
    ready("admit", "--site", "kantor", NIK["andi"], expect=3)


def test_occupancy_events_trace_purge(ready):
    codes = _people(ready)
    ready("check", "--door", "lobby", codes["budi"])
    ready("admit", "--site", "kantor", NIK["sari"])
    rows = jrun(ready, "occupancy")
    assert rows[0]["site"] == "kantor" and rows[0]["inside"] == 2 and rows[0]["capacity"] == 3
    assert rows[0]["employees"] == 1 and rows[0]["visitors"] == 1
    assert "INSIDE" in ready("occupancy").stdout
    listed = jrun(ready, "events", "--site", "kantor", "--verdict", "yellow", "--since", "1h", "--limit", "5")
    assert [e["how"] for e in listed] == ["manual"]
    assert "VERDICT" in ready("events").stdout
    traced = jrun(ready, "trace", NIK["budi"], "--days", "14")
    assert [c["name"] for c in traced["contacts"]] == ["Sari"]
    assert "Sari" in ready("trace", NIK["budi"]).stdout
    assert jrun(ready, "purge", "--older-than", "30d", "--yes")["events"] == 0
    assert "purged" in ready("purge", "--older-than", "30d", "--yes").stdout


def test_devices_and_doors(ready):
    device = jrun(ready, "device", "add", "unit-1", "--door", "lobby")
    assert "key" not in device  # the key goes only into the owner-only config file
    with open(device["config"]) as f:
        assert len(bytes.fromhex(json.load(f)["key"])) == 32
    assert oct(os.stat(device["config"]).st_mode & 0o777) == "0o600"
    assert jrun(ready, "device", "list")[0]["device"] == "unit-1"
    assert [d["door"] for d in jrun(ready, "door", "list", "--site", "kantor")] == ["belakang", "lobby"]


def test_help_for_every_command(pintu):
    for args in ([], ["site"], ["card"], ["card", "revoke"], ["check"], ["person", "import"], ["trace"]):
        assert "Usage" in pintu(*args, "--help").stdout


def test_real_console_script(tmp_path):
    """The installed `pintu` entry point, as an operator runs it."""
    script = Path(sys.executable).with_name("pintu")
    env = {**os.environ, "PINTU_DATA": str(tmp_path / "d")}
    run = [str(script)] if script.exists() else [sys.executable, "-m", "pintu.cli"]
    assert subprocess.run([*run, "init"], env=env, capture_output=True, text=True).returncode == 0
    result = subprocess.run([*run, "site", "show", "nowhere"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == "pintu: unknown site 'nowhere'\n" and result.stdout == ""
    result = subprocess.run([*run, "occupancy", "--json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_guards_confirm_refuse_and_checkout(ready):
    codes = _people(ready)
    added = ready("guard", "add", "Joko", "--site", "kantor", "--out", "joko.png")
    guard_code = added.stdout.strip()
    assert guard_code.startswith("PG1:") and (ready.tmp / "joko.png").stat().st_size > 200
    [row] = jrun(ready, "guard", "list")
    assert (row["name"], row["site"], row["revoked"]) == ("Joko", "kantor", None)
    assert "nothing is waiting" in ready("confirm", "--site", "kantor", NIK["sari"], expect=2).stderr
    # The guard's card with nothing pending at the door: shown distinctly, nobody admitted.
    idle = jrun(ready, "check", "--door", "lobby", guard_code, expect=3)
    assert (idle["verdict"], idle["reason"], idle["person"]) == ("GUARD_IDLE", "nothing_pending", None)
    jrun(ready, "check", "--door", "lobby", codes["sari"], expect=3)
    [pending] = jrun(ready, "holds", "kantor")
    assert pending["door"] == "lobby"
    confirmed = jrun(ready, "check", "--door", "lobby", guard_code)  # the guard scans their card at that door
    assert (confirmed["verdict"], confirmed["reason"], confirmed["occupancy"]) == ("GREEN", "guard_confirmed", 1)
    assert jrun(ready, "holds", "kantor") == []
    [event] = [e for e in jrun(ready, "events") if e["reason"] == "guard_confirmed"]
    assert event["operator"] == "guard:%d" % row["guard"]
    # refused from the CLI: the place is released
    ready("site", "set", "kantor", "--policy", "booster")
    jrun(ready, "check", "--door", "lobby", codes["eko"], expect=3)
    refused = jrun(ready, "refuse", "--site", "kantor", NIK["eko"])
    assert (refused["verdict"], refused["reason"]) == ("HOLD", "guard_refused")
    assert jrun(ready, "holds", "kantor") == []
    # a revoked guard's card confirms nothing
    jrun(ready, "guard", "revoke", str(row["guard"]))
    jrun(ready, "check", "--door", "lobby", codes["eko"], expect=3)
    assert jrun(ready, "check", "--door", "lobby", guard_code, expect=3)["reason"] == "revoked"
    assert len(jrun(ready, "holds", "kantor")) == 1
    # checkout by hand, then again: not inside (exit 3)
    assert jrun(ready, "checkout", "--site", "kantor", NIK["sari"], "--operator", "Joko")["occupancy"] == 0
    assert jrun(ready, "checkout", "--site", "kantor", NIK["sari"], expect=3)["reason"] == "not_inside"
    assert "unknown guard" in ready("guard", "revoke", "99", expect=2).stderr
