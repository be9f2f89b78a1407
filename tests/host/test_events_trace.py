"""The decision record (filters, purge) and contact tracing."""

import pytest

from pintu import checkin, registry
from pintu.checkin import events, trace
from pintu.errors import PintuError

from .conftest import NIK, NOW, add_person

HOUR = 3600


@pytest.fixture
def day(data, site):
    registry.set_site(data, "kantor", capacity=10)
    registry.add_site(data, "klinik", "Klinik", 10)
    for name in ("budi", "sari", "eko", "fajar"):
        add_person(data, name, ["2021-06-01", "2021-07-01"])
    add_person(data, "andi")
    # budi 10:00-12:00 at kantor; sari 11:00-13:00 kantor; eko 13:30-14:00 kantor; fajar 10:30 klinik
    checkin.admit(data, "kantor", NIK["budi"], at=NOW)
    checkin.admit(data, "kantor", NIK["sari"], at=NOW + HOUR)
    checkin.admit(data, "klinik", NIK["fajar"], at=NOW + HOUR / 2)
    checkin.admit(data, "kantor", NIK["andi"], at=NOW + HOUR)  # RED: never inside
    budi = data.store.find_person(data.nik.hash(NIK["budi"]))["id"]
    sari = data.store.find_person(data.nik.hash(NIK["sari"]))["id"]
    with data.store.write():
        for person, hours in ((budi, 2), (sari, 3)):
            visit = data.store.find_open_visit(person, "kantor")
            data.store.close_visit(visit["id"], "kantor", int(NOW + hours * HOUR), "manual")
    checkin.admit(data, "kantor", NIK["eko"], at=NOW + 3.5 * HOUR)
    return {"budi": budi, "sari": sari}


def test_trace_finds_overlaps_only(data, day):
    result = trace.trace(data, NIK["budi"], days=14, at=NOW + 4 * HOUR)
    assert [c["person"] for c in result["contacts"]] == [day["sari"]]
    contact = result["contacts"][0]
    assert contact["site"] == "kantor" and contact["overlap_min"] == 60.0 and contact["name"] == "Sari"


def test_trace_open_visit_lasts_until_now(data, day):
    result = trace.trace(data, NIK["eko"], at=NOW + 4 * HOUR)
    assert result["contacts"] == []
    result = trace.trace(data, NIK["sari"], at=NOW + 4 * HOUR)
    assert [c["person"] for c in result["contacts"]] == [day["budi"]]


def test_trace_window(data, day):
    assert trace.trace(data, NIK["budi"], days=1, at=NOW + 3 * 86400)["contacts"] == []


def test_event_filters(data, day):
    assert len(events.list_events(data, at=NOW + 5 * HOUR)) == 5
    assert [e["site"] for e in events.list_events(data, site="klinik")] == ["klinik"]
    assert [e["verdict"] for e in events.list_events(data, verdict="red")] == ["RED"]
    assert len(events.list_events(data, since="2h", at=NOW + 4 * HOUR)) == 1
    assert len(events.list_events(data, since="2021-09-01T10:45")) == 3
    assert len(events.list_events(data, limit=2)) == 2
    first = events.list_events(data, limit=1)[0]
    assert first["how"] == "manual" and first["person"] is not None and "name" not in first


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"verdict": "PURPLE"}, "unknown verdict"),
        ({"since": "yesterday"}, "bad time"),
        ({"site": "x"}, "unknown site"),
        ({"limit": 0}, "limit"),
    ],
)
def test_event_filter_errors(data, day, kwargs, message):
    with pytest.raises(PintuError, match=message):
        events.list_events(data, **kwargs)


def test_purge(data, day):
    result = events.purge(data, "30d", at=NOW + 31 * 86400)
    assert result["events"] == 5 and result["visits"] == 4  # budi, sari closed; eko, fajar auto-closed after 8h
    assert data.store.list_events() == []
    assert events.purge(data, "1d", at=NOW)["events"] == 0
    with pytest.raises(PintuError, match="bad duration"):
        events.purge(data, "a while")
