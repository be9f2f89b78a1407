"""Sites, doors, persons and the CSV import: validation, line numbers, all-or-nothing unless skip_bad."""

import pytest

from pintu import registry
from pintu.errors import PintuError

from .conftest import NIK, NOW, make_nik

HEADER = "nik,name,role,dose1,dose2,dose3,status,status_until\n"


def write_csv(tmp_path, body, header=HEADER):
    path = tmp_path / "persons.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def import_file(data, path, **kw):
    rows, total = registry.read_import_file(path)
    return registry.import_persons(data, rows, at=NOW, **kw), total


def test_site_add_and_set(data):
    site = registry.add_site(data, "kantor", "Kantor", 10)
    assert site == {
        "site": "kantor",
        "name": "Kantor",
        "capacity": 10,
        "policy": "dose1",
        "referral": "",
        "max_stay": "8h",
        "retention": "30d",
        "yellow_admits": True,
        "accept_tests": False,
        "anti_passback": "hard",
        "hold": "1m",
    }
    site = registry.set_site(data, "kantor", capacity=20, policy_name="booster", max_stay="90m", yellow_admits=False)
    assert (site["capacity"], site["policy"], site["max_stay"], site["yellow_admits"]) == (20, "booster", "90m", False)
    assert [s["site"] for s in registry.list_sites(data)] == ["kantor"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"site_id": "bad id"}, "bad site id"),
        ({"capacity": -1}, "from 1 to"),
        ({"capacity": 0}, "from 1 to"),
        ({"capacity": 1_000_001}, "from 1 to"),
        ({"max_stay": "4m"}, "too short"),
        ({"max_stay": "8"}, "bad duration"),  # a unit is required
        ({"capacity": "many"}, "bad capacity"),
        ({"policy_name": "none"}, "bad policy"),
        ({"max_stay": "forever"}, "bad duration"),
    ],
)
def test_site_validation(data, kwargs, message):
    args = {"site_id": "kantor", "name": "Kantor", "capacity": 10, **kwargs}
    with pytest.raises(PintuError, match=message):
        registry.add_site(data, **args)


def test_duplicates_and_unknowns(data):
    registry.add_site(data, "kantor", "Kantor", 10)
    with pytest.raises(PintuError, match="already exists"):
        registry.add_site(data, "kantor", "Kantor", 10)
    with pytest.raises(PintuError, match="unknown site"):
        registry.set_site(data, "nowhere", capacity=1)
    with pytest.raises(PintuError, match="unknown site"):
        registry.add_door(data, "lobby", "nowhere", "in")
    with pytest.raises(PintuError, match="bad direction"):
        registry.add_door(data, "lobby", "kantor", "sideways")
    registry.add_door(data, "lobby", "kantor", "in")
    with pytest.raises(PintuError, match="already exists"):
        registry.add_door(data, "lobby", "kantor", "in")
    assert registry.show_site(data, "kantor")["doors"] == [{"door": "lobby", "site": "kantor", "direction": "in"}]


def test_devices(data):
    registry.add_site(data, "kantor", "Kantor", 10)
    registry.add_door(data, "lobby", "kantor", "in")
    device, key = registry.add_device(data, "unit-1", "lobby")
    assert len(key) == 32 and device["door"] == "lobby"
    registry.device_seen(data, "unit-1", at=NOW, firmware="0.1.0", board="esp32-devkitc")
    registry.device_seen(data, "unit-1", at=NOW + 60)
    listed = registry.list_devices(data)[0]
    assert (listed["firmware"], listed["board"], listed["last_seen"]) == ("0.1.0", "esp32-devkitc", NOW + 60)
    assert registry.revoke_device(data, "unit-1")["revoked"]
    with pytest.raises(PintuError, match="unknown device"):
        registry.revoke_device(data, "unit-9")
    with pytest.raises(PintuError, match="unknown door"):
        registry.add_device(data, "unit-2", "nowhere")


def test_person_lifecycle(data):
    person = registry.add_person(data, "3275 0101 0180 0001", "Budi", "staff")
    assert person["role"] == "staff" and person["doses"] == []
    with pytest.raises(PintuError, match="already exists"):
        registry.add_person(data, NIK["budi"], "Budi again")
    registry.add_dose(data, NIK["budi"], "2021-06-01", "Sinovac")
    person = registry.add_dose(data, NIK["budi"], "2021-07-01")
    assert [d["number"] for d in person["doses"]] == [1, 2]
    with pytest.raises(PintuError, match="before the previous dose"):
        registry.add_dose(data, NIK["budi"], "2021-01-01")
    with pytest.raises(PintuError, match="bad date"):
        registry.add_dose(data, NIK["budi"], "17/08/2021")
    person = registry.set_status(data, NIK["budi"], "contact", "2021-09-10", at=NOW)
    assert (person["status"], person["status_since"], person["status_until"]) == ("contact", "2021-09-01", "2021-09-10")
    with pytest.raises(PintuError, match="before"):
        registry.set_status(data, NIK["budi"], "positive", "2021-08-01", at=NOW)
    with pytest.raises(PintuError, match="bad status"):
        registry.set_status(data, NIK["budi"], "sick")
    assert registry.set_status(data, NIK["budi"], "clear", at=NOW)["status_until"] is None


@pytest.mark.parametrize(
    "nik", ["12345", "32750101018000011", "327501010180000A", "", "３２７５０１０１０１８０００01"]
)
def test_malformed_nik(data, nik):
    with pytest.raises(PintuError, match="malformed NIK"):
        registry.add_person(data, nik, "X")


def test_unknown_nik(data):
    with pytest.raises(PintuError, match="no person"):
        registry.show_person(data, NIK["budi"])


def test_import(data, tmp_path):
    path = write_csv(
        tmp_path,
        "".join(
            [
                "%s,Budi,staff,2021-06-01,2021-07-01,,,\n" % NIK["budi"],
                "%s,Sari,,2021-08-10,,,,\n" % NIK["sari"],
                "%s,Dewi,asn,2021-05-01,2021-06-01,2021-08-25,positive,2021-09-14\n" % NIK["dewi"],
            ]
        ),
    )
    report, total = import_file(data, path)
    assert (report.rows, report.imported, report.bad, total) == (3, 3, [], 3)
    dewi = registry.show_person(data, NIK["dewi"])
    assert len(dewi["doses"]) == 3 and dewi["status"] == "positive" and dewi["status_until"] == "2021-09-14"
    assert registry.show_person(data, NIK["sari"])["role"] == "visitor"


def test_import_updates_known_persons(data, tmp_path):
    registry.add_person(data, NIK["budi"], "Budi", "staff")
    registry.add_dose(data, NIK["budi"], "2021-06-01")
    before = registry.show_person(data, NIK["budi"])["person"]
    report, _ = import_file(data, write_csv(tmp_path, "%s,Budi S,asn,2021-06-01,2021-07-02,,,\n" % NIK["budi"]))
    person = registry.show_person(data, NIK["budi"])
    assert person["person"] == before and person["name"] == "Budi S" and person["role"] == "asn"
    # Doses are only added: the recorded first dose stays, the second is added.
    assert [d["date"] for d in person["doses"]] == ["2021-06-01", "2021-07-02"]
    assert (report.added, report.updated, report.doses_added) == (0, 1, 1)


BAD_ROWS = [
    ("12345,X,visitor,,,,,", "malformed NIK"),
    ("%s,X,boss,,,,," % make_nik(1), "bad role"),
    ("%s,X,visitor,2021-13-01,,,," % make_nik(2), "bad date"),
    ("%s,X,visitor,,2021-06-01,,," % make_nik(3), "dose2 given without"),
    ("%s,X,visitor,2021-07-01,2021-06-01,,," % make_nik(4), "before the previous dose"),
    ("%s,X,visitor,,,,sick," % make_nik(5), "bad status"),
    ("%s,X,visitor,,,,,2021-09-01" % make_nik(6), "status_until given without a status"),
    ("%s,X,visitor,,,,clear,2021-09-01" % make_nik(8), "status_until given for status clear"),
    ("%s,X,visitor,,,,positive,soon" % make_nik(7), "bad date"),
]


@pytest.mark.parametrize("row, message", BAD_ROWS, ids=[m for _, m in BAD_ROWS])
def test_import_rejects_bad_rows_by_line_and_imports_nothing(data, tmp_path, row, message):
    path = write_csv(tmp_path, "%s,Good,visitor,,,,,\n%s\n" % (NIK["budi"], row))
    with pytest.raises(PintuError, match="nothing imported") as caught:
        import_file(data, path)
    assert caught.value.report.bad[0][0] == 3  # the header is line 1
    assert message in caught.value.report.bad[0][1]
    assert data.store.count_persons() == 0


def test_import_skip_bad(data, tmp_path):
    path = write_csv(
        tmp_path, "%s,Good,visitor,,,,,\nnonsense,,,,,,,\n%s,Again,visitor,,,,,\n" % (NIK["budi"], NIK["budi"])
    )
    report, _ = import_file(data, path, skip_bad=True)
    assert report.imported == 1
    assert [line for line, _ in report.bad] == [3, 4]
    assert "repeats line 2" in report.bad[1][1]
    assert data.store.count_persons() == 1


def test_import_file_errors(data, tmp_path):
    with pytest.raises(PintuError, match="cannot read"):
        registry.read_import_file(tmp_path / "missing.csv")
    rows, _ = registry.read_import_file(write_csv(tmp_path, "1,2\n", header="name,role\n"))
    with pytest.raises(PintuError, match="nik"):
        list(rows)
    rows, _ = registry.read_import_file(write_csv(tmp_path, "", header="nik,name,shoe_size\n"))
    with pytest.raises(PintuError, match="unknown column"):
        list(rows)


def test_import_progress_reports_every_row(data, tmp_path):
    path = write_csv(tmp_path, "".join("%s,P%d,visitor,,,,,\n" % (make_nik(i), i) for i in range(2500)))
    seen = []
    rows, total = registry.read_import_file(path)
    registry.import_persons(data, rows, progress=seen.append)
    assert sum(seen) == total == 2500


def test_frame_counters_are_accepted_once_within_the_window(data):
    from pintu.data.replay_window import ACCEPTED, DUPLICATE, TOO_OLD

    registry.add_site(data, "kantor", "Kantor", 10)
    registry.add_device(data, "unit-1")
    store = data.store
    assert store.accept_rx_counter("unit-1", 1) == ACCEPTED
    assert store.accept_rx_counter("unit-1", 5) == ACCEPTED
    assert store.accept_rx_counter("unit-1", 5) == DUPLICATE  # a replay
    assert store.accept_rx_counter("unit-1", 3) == ACCEPTED  # overtaken by 5 on another worker: not a replay
    assert store.accept_rx_counter("unit-1", 3) == DUPLICATE
    assert store.accept_rx_counter("unit-1", 1) == DUPLICATE
    assert store.accept_rx_counter("unit-1", 100) == ACCEPTED
    assert store.accept_rx_counter("unit-1", 4) == TOO_OLD  # never seen, but below the window: refused
    assert store.accept_rx_counter("unit-1", 37) == ACCEPTED  # the oldest counter the window still holds
    assert store.accept_rx_counter("unit-1", 36) == TOO_OLD
    assert store.accept_rx_counter("unit-9", 1) == TOO_OLD  # no such device
    assert [store.next_tx_counter("unit-1") for _ in range(3)] == [1, 2, 3]
    with pytest.raises(PintuError):
        store.next_tx_counter("unit-9")
