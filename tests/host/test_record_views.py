"""The office reads its own record (issue 15): person list, events with names and as CSV, device list with human
times and online/offline, device set, and the daily report."""

import csv
import io
import json
import os

import pytest
from click.testing import CliRunner

from pintu import checkin, registry
from pintu.checkin import events
from pintu.cli import main
from pintu.data.datadir import DataDir
from pintu.registry import cards, provision

from .conftest import NIK, NOW, add_person


def test_person_list_by_site_and_status(data, site):
    add_person(data, "budi", ["2021-06-01"], role="staff")
    add_person(data, "dewi", status="positive")
    cards.issue_card(data, NIK["budi"], "kantor", at=NOW)
    rows = registry.list_persons(data, at=NOW)
    assert [(r["name"], r["doses"], r["cards"]) for r in rows] == [("Budi", 1, 1), ("Dewi", 0, 0)]
    assert [r["name"] for r in registry.list_persons(data, site="kantor")] == ["Budi"]
    assert [r["name"] for r in registry.list_persons(data, status="positive", at=NOW)] == ["Dewi"]
    with data.store.write():
        data.store.insert_holder(b"h" * 32, int(NOW))  # EU certificate holders are not registry persons
    assert len(registry.list_persons(data)) == 2


def test_events_with_names_only_when_asked_and_the_daily_report(data, site):
    add_person(data, "budi", ["2021-06-01", "2021-07-01"])
    add_person(data, "andi")
    code = cards.issue_card(data, NIK["budi"], "kantor", at=NOW)["code"]
    checkin.check(data, "lobby", code, at=NOW)  # 10:00 GREEN
    checkin.admit(data, "kantor", NIK["andi"], at=NOW + 3600)  # 11:00 RED: no dose
    checkin.check(data, "lobby", "PN1:forged", at=NOW + 3700)  # 11:01 INVALID
    plain = events.list_events(data, at=NOW + 4000)
    assert all("name" not in row for row in plain)
    named = events.list_events(data, at=NOW + 4000, names=True)
    assert [row["name"] for row in named] == ["", "Andi", "Budi"]
    report = events.day_report(data, "2021-09-01")
    (kantor,) = [s for s in report["sites"] if s["site"] == "kantor"]
    assert kantor["by_hour"] == {"10": {"GREEN": 1}, "11": {"RED": 1, "INVALID": 1}}
    assert (kantor["admitted"], kantor["refused"]) == (1, 2)
    invalid_reason = named[0]["reason"]
    assert kantor["refusals"] == {"no_dose": 1, invalid_reason: 1}
    assert events.day_report(data, "2021-09-02")["sites"] == []


def test_device_list_shows_time_and_state(data, site):
    registry.add_device(data, "lobby-1", "lobby")
    registry.add_device(data, "lobby-2", "lobby")
    registry.add_device(data, "lobby-3", "lobby")
    registry.device_seen(data, "lobby-1", at=NOW - 30)
    registry.device_seen(data, "lobby-2", at=NOW - 600)
    states = {d["device"]: d["state"] for d in registry.list_devices(data, at=NOW)}
    assert states == {"lobby-1": "online", "lobby-2": "offline", "lobby-3": "never seen"}
    seen = registry.list_devices(data, at=NOW)[0]["seen"]
    assert seen.startswith("2021-09-01T09:59:30")


@pytest.fixture
def office(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args, expect=0):
        result = runner.invoke(main, ["--data", str(tmp_path / "d"), *args])
        assert result.exit_code == expect, (args, result.output)
        return result

    run("init")
    run("site", "add", "kantor", "--name", "Kantor", "--capacity", "3", "--max-stay", "8h")
    run("door", "add", "lobby", "--site", "kantor", "--direction", "in")
    run.path = tmp_path / "d"
    return run


def test_device_set_rewrites_the_config_with_the_same_key(office):
    office("device", "add", "lobby-1", "--door", "lobby", "--link", "mqtt", "--wifi-ssid", "kantor",
           "--wifi-pass", "old-pass", "--broker", "10.0.0.1:1883")
    path = office.path / "devices" / "lobby-1.json"
    before = json.loads(path.read_text())
    office("device", "set", "lobby-1", "--wifi-pass", "new-pass", "--board", "esp32c3-gm861")
    after = json.loads(path.read_text())
    assert after["key"] == before["key"] and after["device_id"] == "lobby-1"
    assert after["link"]["wifi_password"] == "new-pass" and after["link"]["wifi_ssid"] == "kantor"
    assert after["link"]["broker"] == "10.0.0.1" and after["board"] == "esp32c3-gm861"
    assert os.stat(path).st_mode & 0o077 == 0
    assert "bad board" in office("device", "set", "lobby-1", "--board", "nope", expect=2).stderr
    assert "unknown device" in office("device", "set", "nobody", "--wifi-pass", "x", expect=2).stderr


def test_cli_events_csv_and_names_person_list_report(office):
    office("person", "add", "--nik", NIK["budi"], "--name", "Budi Santoso")
    office("admit", "--site", "kantor", NIK["budi"], expect=3)  # RED: no dose
    table = office("events").stdout
    assert "Budi" not in table
    assert "Budi Santoso" in office("events", "--names").stdout
    rows = list(csv.DictReader(io.StringIO(office("events", "--csv", "--names").stdout)))
    assert [(r["verdict"], r["name"], r["site"]) for r in rows] == [("RED", "Budi Santoso", "kantor")]
    assert "Budi Santoso" in office("person", "list").stdout
    with DataDir(str(office.path)) as data:
        day = events.list_events(data)[0]["time"][:10]
    out = office("report", "--day", day).stdout
    assert "site kantor: 1 decisions, 0 admitted, 1 refused" in out and "no_dose 1" in out
    office("device", "add", "lobby-1", "--door", "lobby")
    listed = office("device", "list").stdout.splitlines()
    assert listed[0].split()[:4] == ["DEVICE", "DOOR", "STATE", "LAST"] and "never seen" in listed[1]
    assert "bad date" in office("report", "--day", "yesterday", expect=2).stderr


def test_set_unit_refuses_a_revoked_unit(data, site):
    provision.add_unit(data, "lobby-1", "lobby")
    provision.revoke_unit(data, "lobby-1")
    with pytest.raises(Exception, match="revoked"):
        provision.set_unit(data, "lobby-1", wifi_ssid="x")
