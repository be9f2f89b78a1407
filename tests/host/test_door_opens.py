"""Issue 19: a YELLOW confirmed by hand (`pintu confirm`, the console) records that the door of the unit the visitor
waits at must open; gateway workers claim it so that exactly one sends it, and never after its deadline. On both
backends (the `data` fixture)."""

import threading

import pytest

from pintu import checkin, registry
from pintu.checkin import door_opens
from pintu.data.datadir import DataDir
from pintu.registry import cards, guards
from pintu_protocol.verdicts import GREEN, HOLD, R_GUARD_CONFIRMED, R_GUARD_REFUSED

from .conftest import NIK, NOW, add_person

UNITS = {"unit-in", "unit-in-2"}


@pytest.fixture
def held(data, site):
    """Sari (one dose: YELLOW under `full`) scanned at unit-in as its scan 41: a place is held for the guard."""
    add_person(data, "sari", ["2021-08-01"])
    registry.add_device(data, "unit-in", "lobby")
    registry.add_device(data, "unit-in-2", "lobby")
    code = cards.issue_card(data, NIK["sari"], "kantor", at=NOW)["code"]
    decision = checkin.decide_scan(data, code, device="unit-in", at=NOW, scan_ref=41)
    assert decision.verdict == HOLD
    return code


def opens(data):
    return [dict(row) for row in data.store.pending_opens()]


def confirm(data, at, confirmed=True):
    return checkin.settle_hold(data, "kantor", NIK["sari"], confirmed, operator="Joko", at=at)


def test_a_confirmation_by_hand_asks_the_unit_that_showed_the_hold_to_open(data, held):
    decision = confirm(data, NOW + 10)
    assert (decision.verdict, decision.reason, decision.occupancy) == (GREEN, R_GUARD_CONFIRMED, 1)
    [row] = opens(data)
    assert (row["device_id"], row["open_scan"], row["open_until"]) == ("unit-in", 41, int(NOW) + 10 + 15)
    assert (row["occupancy"], row["capacity"]) == (1, 3)  # what the unit is shown: the confirmation's event
    [due] = door_opens.claim(data.store, UNITS, NOW + 11)
    assert (due.device, due.scan, due.occupancy, due.capacity) == ("unit-in", 41, 1, 3)
    assert door_opens.claim(data.store, UNITS, NOW + 11.2) == []  # sent once
    assert opens(data) == []
    hold = data.store.hold_of_event(data.store.find_scan("device:unit-in", 41)["id"])
    assert (hold["outcome"], hold["open_outcome"], hold["open_done"]) == ("confirmed", "sent", int(NOW) + 11)


def test_a_worker_that_never_heard_the_unit_leaves_the_open_to_one_that_did(data, held):
    confirm(data, NOW + 10)
    assert door_opens.claim(data.store, {"unit-out"}, NOW + 11) == []  # cannot reach unit-in: leaves it
    assert len(opens(data)) == 1
    assert [d.scan for d in door_opens.claim(data.store, UNITS, NOW + 12)] == [41]


def test_past_its_deadline_the_open_is_dropped_and_the_record_still_says_what_happened(data, held, caplog):
    confirm(data, NOW + 10)
    caplog.set_level("INFO", logger="pintu.door_opens")
    # Nobody could send it in time (no worker heard the unit): 15 s after the confirmation it is dropped, by any
    # worker, and never sent after.
    assert door_opens.claim(data.store, set(), NOW + 10 + door_opens.OPEN_WINDOW_S + 1) == []
    assert door_opens.claim(data.store, UNITS, NOW + 10 + door_opens.OPEN_WINDOW_S + 2) == []
    assert opens(data) == []
    assert "hold 1: door open for unit-in scan 41 dropped, past its deadline" in caplog.text
    assert "Sari" not in caplog.text and NIK["sari"] not in caplog.text
    last = data.store.list_events(limit=1)[0]
    assert (last["verdict"], last["reason"], last["operator"], last["how"]) == (GREEN, R_GUARD_CONFIRMED, "Joko",
                                                                                "manual")
    assert data.store.count_inside("kantor") == 1  # admitted: the guard lets her through by hand
    assert data.store.pending_holds("kantor") == []


def test_the_deadline_is_never_after_the_hold_itself_would_have_ended(data, held):
    registry.set_site(data, "kantor", hold="60s")
    [hold] = data.store.pending_holds("kantor")
    confirm(data, hold["expires"] - 3)  # three seconds before the place would have been released
    [row] = opens(data)
    assert row["open_until"] == hold["expires"]
    assert door_opens.claim(data.store, UNITS, hold["expires"] + 0.5) == []


def test_a_refusal_opens_nothing(data, held):
    decision = confirm(data, NOW + 10, confirmed=False)
    assert (decision.verdict, decision.reason) == (HOLD, R_GUARD_REFUSED)
    assert opens(data) == [] and door_opens.claim(data.store, UNITS, NOW + 11) == []


def test_the_guards_card_at_the_unit_is_answered_there_and_asks_for_no_push(data, held):
    guard = guards.add_guard(data, "Joko", "kantor", at=NOW)["code"]
    decision = checkin.decide_scan(data, guard, device="unit-in", at=NOW + 10, scan_ref=42)
    assert (decision.verdict, decision.reason) == (GREEN, R_GUARD_CONFIRMED)  # the answer to the guard's own scan
    assert opens(data) == []


def test_a_hold_moved_to_another_unit_opens_the_door_the_visitor_stands_at(data, held):
    rescan = checkin.decide_scan(data, held, device="unit-in-2", at=NOW + 5, scan_ref=7)
    assert rescan.verdict == HOLD
    confirm(data, NOW + 10)
    [row] = opens(data)
    assert (row["device_id"], row["open_scan"]) == ("unit-in-2", 7)


def test_a_hold_made_at_a_door_without_a_unit_asks_for_nothing(data, site):
    add_person(data, "sari", ["2021-08-01"])
    code = cards.issue_card(data, NIK["sari"], "kantor", at=NOW)["code"]
    assert checkin.decide_scan(data, code, door="lobby", at=NOW).verdict == HOLD
    assert confirm(data, NOW + 10).verdict == GREEN
    assert opens(data) == []


def test_workers_racing_for_one_open_send_it_exactly_once(data, held, tmp_path):
    """Eight workers, each on its own connection (another process's view), claim at the same moment."""
    confirm(data, NOW + 10)
    workers = [DataDir(data.path) for _ in range(8)]
    got = []
    start = threading.Barrier(len(workers))

    def work(worker):
        start.wait()
        got.extend(door_opens.claim(worker.store, UNITS, NOW + 11))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for w in workers:
            w.close()
    assert [d.scan for d in got] == [41]
    assert opens(data) == []
