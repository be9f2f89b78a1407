"""Deciding scans through the library API as the CLI and the gateway do: atomic, idempotent, fail-closed."""

import sqlite3

import pytest

from pintu import checkin, registry
from pintu.errors import PintuError
from pintu.registry import cards
from pintu_protocol.messages import IN, OUT
from pintu_protocol.verdicts import (
    BLACK,
    EXIT,
    FULL,
    GREEN,
    HOLD,
    INVALID,
    R_ALREADY_INSIDE,
    R_CHECKED_OUT,
    R_FORGED,
    R_HOST_FAULT,
    R_NOT_INSIDE,
    R_NOT_YET_VALID,
    R_REVOKED,
    R_UNKNOWN,
    R_UNREADABLE,
    R_WRONG_DOOR,
    RED,
    YELLOW,  # noqa: F401
)

from .conftest import NIK, NOW, add_person


def card(data, name, at=NOW):
    return cards.issue_card(data, NIK[name], "kantor", at=at)["code"]


def scan(data, code, door="lobby", at=NOW, **kw):
    return checkin.decide_scan(data, code, door=door, at=at, **kw)


@pytest.fixture
def people(data, site):
    add_person(data, "budi", ["2021-06-01", "2021-07-01"], role="staff")
    add_person(data, "sari", ["2021-08-10"])
    add_person(data, "andi")
    add_person(data, "dewi", ["2021-05-01", "2021-06-01"], role="asn", status="positive")
    add_person(data, "eko", ["2021-07-01", "2021-08-01"])
    add_person(data, "fajar", ["2021-06-15", "2021-07-15"], role="staff")
    return {name: card(data, name) for name in NIK}


def test_every_verdict(data, people):
    assert scan(data, people["budi"]).verdict == GREEN
    sari = scan(data, people["sari"])  # one dose under `full`: a place is held for the guard, nobody inside yet
    assert sari.verdict == HOLD and not sari.admitted and sari.occupancy == 1
    andi = scan(data, people["andi"])
    assert andi.verdict == RED and andi.referral == "Puskesmas Karang Kitri" and not andi.admitted
    dewi = scan(data, people["dewi"])
    assert dewi.verdict == BLACK and dewi.flagged
    assert scan(data, people["fajar"]).verdict == GREEN
    eko = scan(data, people["eko"])  # two inside and Sari's held place: full
    assert (eko.verdict, eko.occupancy, eko.capacity) == (FULL, 2, 3)
    assert scan(data, b"not a pintu code").verdict == INVALID
    assert scan(data, people["budi"], door="belakang").verdict == EXIT
    assert scan(data, people["eko"]).verdict == GREEN


def test_decision_fields(data, people):
    decision = scan(data, people["budi"])
    assert decision.site == "kantor" and decision.door == "lobby"
    assert decision.occupancy == 1 and decision.capacity == 3
    assert decision.person_id is not None and decision.event_id is not None
    assert decision.to_dict()["verdict"] == "GREEN" and decision.to_dict()["reason"] == "ok"


@pytest.mark.parametrize(
    "code, reason",
    [
        (b"", R_UNREADABLE),
        (b"\xff\xfe", R_UNREADABLE),
        ("HELLO WORLD", R_UNREADABLE),
        ("PN1:ABC", R_UNREADABLE),
        ("HC1:NOT-A-CERTIFICATE", None),  # handled by the DCC reader when present; never admitted
    ],
)
def test_unreadable_codes(data, people, code, reason):
    decision = scan(data, code)
    assert decision.verdict != GREEN and not decision.admitted
    if reason is not None:
        assert (decision.verdict, decision.reason) == (INVALID, reason)


def test_forged_and_unknown(data, people):
    from pintu.rules.credentials import Issuer, new_key

    _, forged = Issuer(new_key()).issue(18871)
    assert scan(data, forged).reason == R_FORGED
    _, unknown = data.issuer.issue(18871)  # signed by this host but never recorded
    assert (scan(data, unknown).verdict, scan(data, unknown).reason) == (INVALID, R_UNKNOWN)


def test_revoked_and_reissued(data, people):
    cards.revoke_cards(data, NIK["budi"], at=NOW)
    decision = scan(data, people["budi"])
    assert (decision.verdict, decision.reason) == (INVALID, R_REVOKED)
    assert scan(data, card(data, "budi")).verdict == GREEN


def test_card_dated_in_the_future_is_not_yet_valid(data, people):
    code = card(data, "budi", at=NOW + 10 * 86400)
    assert scan(data, code).reason == R_NOT_YET_VALID


def test_scanner_line_ending_is_ignored(data, people):
    assert scan(data, (people["budi"] + "\r\n").encode()).verdict == GREEN


def test_status_change_applies_at_next_scan(data, people):
    assert scan(data, people["eko"]).verdict == GREEN
    registry.set_status(data, NIK["eko"], "contact", "2021-09-10", at=NOW)
    assert scan(data, people["eko"], at=NOW + 60).verdict == BLACK
    registry.set_status(data, NIK["eko"], "clear", at=NOW)
    scan(data, people["eko"], door="belakang", at=NOW + 90)  # out again: inside, anti-passback would refuse
    assert scan(data, people["eko"], at=NOW + 120).verdict == GREEN


def test_new_dose_applies_without_a_new_card(data, people):
    assert scan(data, people["andi"]).verdict == RED
    registry.add_dose(data, NIK["andi"], "2021-08-30")
    assert scan(data, people["andi"]).verdict == HOLD  # YELLOW under `full`: waits for the guard


def test_double_entry_is_refused_and_counts_once(data, people):
    first = scan(data, people["budi"])
    second = scan(data, people["budi"], at=NOW + 5)  # anti-passback (hard, the default): the card passed back out
    assert (second.verdict, second.reason, second.flagged) == (INVALID, R_ALREADY_INSIDE, True)
    assert not second.admitted
    assert first.occupancy == second.occupancy == 1


def test_already_inside_at_a_full_site_is_not_refused(data, people):
    for name in ("budi", "sari", "fajar"):
        scan(data, people[name])
    assert scan(data, people["budi"], at=NOW + 5).reason == R_ALREADY_INSIDE


def test_exit_without_entry_is_harmless(data, people):
    decision = scan(data, people["budi"], door="belakang")
    assert (decision.verdict, decision.reason, decision.occupancy) == (EXIT, R_NOT_INSIDE, 0)


def test_exit_checks_out(data, people):
    scan(data, people["budi"])
    decision = scan(data, people["budi"], door="belakang", at=NOW + 60)
    assert (decision.verdict, decision.reason, decision.occupancy) == (EXIT, R_CHECKED_OUT, 0)


def test_two_way_door_follows_the_scan_direction(data, people):
    assert scan(data, people["budi"], door="samping", direction=IN).verdict == GREEN
    assert scan(data, people["budi"], door="samping", direction=OUT).reason == R_CHECKED_OUT


def test_resent_scan_returns_the_same_decision_without_counting_twice(data, people):
    registry.add_device(data, "unit-1", "lobby")
    first = checkin.decide_scan(data, people["budi"], device="unit-1", at=NOW, scan_ref=7)
    again = checkin.decide_scan(data, people["budi"], device="unit-1", at=NOW + 3, scan_ref=7)
    assert again == first
    assert len(data.store.list_events()) == 1
    other = checkin.decide_scan(data, people["budi"], device="unit-1", at=NOW + 3, scan_ref=8)
    assert other.reason == R_ALREADY_INSIDE


def test_resent_refusal_stays_a_refusal(data, people):
    registry.add_device(data, "unit-1", "lobby")
    for name in ("budi", "sari", "fajar"):
        scan(data, people[name])
    first = checkin.decide_scan(data, people["eko"], device="unit-1", at=NOW, scan_ref=1)
    scan(data, people["budi"], door="belakang")  # a place frees up meanwhile
    again = checkin.decide_scan(data, people["eko"], device="unit-1", at=NOW, scan_ref=1)
    assert first.verdict == again.verdict == FULL


def test_unbound_or_unknown_device_is_refused(data, people):
    registry.add_device(data, "loose")
    assert checkin.decide_scan(data, people["budi"], device="loose", at=NOW).reason == R_WRONG_DOOR
    assert checkin.decide_scan(data, people["budi"], device="nobody", at=NOW).reason == R_WRONG_DOOR


def test_unknown_door_is_an_error(data, people):
    with pytest.raises(PintuError):
        checkin.check(data, "nowhere", people["budi"])


def test_queued_scan_is_recorded_at_its_time_but_admits_nobody(data, people):
    decision = scan(data, people["budi"], at=NOW - 600, queued=True)
    assert decision.verdict == GREEN and decision.occupancy == 0
    event = data.store.list_events()[0]
    assert event["time"] == int(NOW - 600) and event["queued"] == 1


def test_queued_exit_closes_the_visit_at_its_time(data, people):
    scan(data, people["budi"], at=NOW)
    decision = scan(data, people["budi"], door="belakang", at=NOW + 600, queued=True)
    assert decision.occupancy == 0


def test_dry_run_records_nothing(data, people):
    decision = checkin.check(data, "lobby", people["budi"], dry_run=True, at=NOW)
    assert decision.verdict == GREEN and decision.event_id is None
    assert data.store.list_events() == [] and data.store.count_inside("kantor") == 0


def test_storage_failure_fails_closed(data, people, monkeypatch):
    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(data.store, "insert_event", broken)
    decision = scan(data, people["budi"])
    assert (decision.verdict, decision.reason) == (INVALID, R_HOST_FAULT)
    assert not decision.admitted
    assert data.store.count_inside("kantor") == 0  # the visit was rolled back with the event


def test_locked_database_fails_closed(data, people, tmp_path):
    from pintu.data.datadir import DataDir

    other = DataDir(data.path)
    other.store._timeout = 0  # the write lock is tried once
    with data.store.write():
        decision = scan(other, people["budi"])
    other.close()
    assert decision.reason == R_HOST_FAULT


def test_manual_admit(data, people):
    decision = checkin.admit(data, "kantor", NIK["fajar"], operator="Joko", at=NOW)
    assert decision.verdict == GREEN and decision.door is None
    event = data.store.list_events()[0]
    assert (event["how"], event["operator"]) == ("manual", "Joko")
    assert checkin.admit(data, "kantor", NIK["dewi"], at=NOW).verdict == BLACK
    assert checkin.admit(data, "kantor", NIK["andi"], at=NOW).verdict == RED


def test_manual_admit_errors(data, people):
    with pytest.raises(PintuError, match="unknown site"):
        checkin.admit(data, "nowhere", NIK["fajar"])
    with pytest.raises(PintuError, match="no person"):
        checkin.admit(data, "kantor", "3275999999999999")
    with pytest.raises(PintuError, match="malformed NIK"):
        checkin.admit(data, "kantor", "12345")


def test_resent_scan_from_an_unbound_device_is_recorded_once(data, people):
    registry.add_device(data, "loose")
    first = checkin.decide_scan(data, people["budi"], device="loose", at=NOW, scan_ref=3)
    again = checkin.decide_scan(data, people["budi"], device="loose", at=NOW, scan_ref=3)
    assert first == again and len(data.store.list_events()) == 1


def test_a_failing_reader_refuses(data, people, monkeypatch):
    from pintu.checkin import codes

    def broken(data_dir, text, at):
        raise RuntimeError("bug")

    monkeypatch.setitem(codes._READERS, "HC1:", broken)
    decision = scan(data, "HC1:ANYTHING")
    assert (decision.verdict, decision.reason) == (INVALID, R_UNREADABLE)
