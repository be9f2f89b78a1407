"""Issue 13: exits always work, `pintu checkout`, replays that respect time, the database's own guard against a visit
ending before it began, and anti-passback (hard and soft) with the OFFLINE-then-rescan case counted once."""

import sqlite3
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from pintu import checkin, registry
from pintu.registry import cards
from pintu_protocol.messages import IN, OUT
from pintu_protocol.verdicts import (
    EXIT,
    GREEN,
    INVALID,
    OFFLINE,
    R_ALREADY_INSIDE,
    R_CHECKED_OUT,
    R_EXPIRED,
    R_NOT_INSIDE,
    R_NOT_SHOWN,
    R_POSITIVE,
    R_REVOKED,
)
from tests.dcc import factory

from .conftest import NIK, NOW, add_person


def card(data, name, at=NOW):
    return cards.issue_card(data, NIK[name], "kantor", at=at)["code"]


def scan(data, code, door="lobby", at=NOW, **kw):
    return checkin.decide_scan(data, code, door=door, at=at, **kw)


def unit_scan(data, code, ref, at, device="unit-in", queued=False, direction=IN):
    return checkin.decide_scan(data, code, device=device, at=at, scan_ref=ref, queued=queued, direction=direction)


def inside(data):
    assert data.store.count_inside("kantor") == data.store.count_open_visits("kantor")
    return data.store.count_inside("kantor")


@pytest.fixture
def people(data, site):
    add_person(data, "budi", ["2021-06-01", "2021-07-01"], role="staff")
    add_person(data, "eko", ["2021-07-01", "2021-08-01"])
    add_person(data, "fajar", ["2021-06-15", "2021-07-15"], role="staff")
    registry.add_device(data, "unit-in", "lobby")
    registry.add_device(data, "unit-in-2", "lobby")
    registry.add_device(data, "unit-out", "belakang")
    return {name: card(data, name) for name in ("budi", "eko", "fajar")}


def last_event(data):
    """The event recorded last (list_events orders by the event's time, and a replay's time is in the past)."""
    return max(data.store.list_events(), key=lambda row: row["id"])


# -- exits always work


def test_a_card_revoked_during_the_visit_still_checks_out_flagged(data, people):
    scan(data, people["budi"])
    cards.revoke_cards(data, NIK["budi"], at=NOW + 60)
    assert scan(data, people["budi"], at=NOW + 90).reason == R_REVOKED  # no entry with it any more
    out = scan(data, people["budi"], door="belakang", at=NOW + 120)
    assert (out.verdict, out.reason, out.flagged, out.occupancy) == (EXIT, R_REVOKED, True, 0)
    assert out.admitted  # the exit door opens


def test_a_positive_status_during_the_visit_still_checks_out_flagged(data, people):
    scan(data, people["eko"])
    registry.set_status(data, NIK["eko"], "positive", at=NOW)
    out = scan(data, people["eko"], door="belakang", at=NOW + 60)
    assert (out.verdict, out.reason, out.flagged, out.occupancy) == (EXIT, R_POSITIVE, True, 0)


def test_an_eu_certificate_that_expired_during_the_visit_still_checks_out(data, site):
    signer = factory.make_signer()
    data.trust.import_bytes(signer.cert.public_bytes(Encoding.PEM))
    expires = factory.NOW + timedelta(hours=2)
    code = factory.hc1_code(signer, factory.claims(factory.vaccination(), exp=expires))
    at = factory.NOW.timestamp()
    assert scan(data, code, at=at).verdict == GREEN
    assert scan(data, code, at=at + 3 * 3600).reason == R_EXPIRED  # refused at an entry door from now on
    out = scan(data, code, door="belakang", at=at + 3 * 3600)
    assert (out.verdict, out.reason, out.flagged, out.occupancy) == (EXIT, R_EXPIRED, True, 0)


def test_an_expired_certificate_never_seen_is_refused_even_at_the_exit(data, site):
    signer = factory.make_signer()
    data.trust.import_bytes(signer.cert.public_bytes(Encoding.PEM))
    code = factory.hc1_code(signer, factory.claims(factory.vaccination(), exp=factory.NOW))
    out = scan(data, code, door="belakang", at=factory.NOW.timestamp() + 60)
    assert (out.verdict, out.reason) == (INVALID, R_EXPIRED)  # nobody to check out: no person row was made
    assert data.store.count_persons() == 0


def test_checkout_by_hand_closes_a_manual_admission(data, people):
    assert checkin.admit(data, "kantor", NIK["fajar"], operator="Joko", at=NOW).verdict == GREEN
    assert inside(data) == 1
    out = checkin.checkout(data, "kantor", NIK["fajar"], operator="Joko", at=NOW + 60)
    assert (out.verdict, out.reason, out.occupancy) == (EXIT, R_CHECKED_OUT, 0)
    event = last_event(data)
    assert (event["how"], event["operator"], event["verdict"]) == ("manual", "Joko", EXIT)
    again = checkin.checkout(data, "kantor", NIK["fajar"], at=NOW + 90)
    assert again.reason == R_NOT_INSIDE


def test_checkout_works_whatever_the_card_or_status(data, people):
    scan(data, people["budi"])
    cards.revoke_cards(data, NIK["budi"], at=NOW)
    registry.set_status(data, NIK["budi"], "contact", at=NOW)
    out = checkin.checkout(data, "kantor", NIK["budi"], at=NOW + 60)
    assert (out.verdict, out.flagged, out.occupancy) == (EXIT, True, 0)


# -- replays that respect time


def test_the_database_refuses_a_visit_that_ends_before_it_began(data, people):
    scan(data, people["budi"])
    visit = data.store.find_open_visit(data.store.find_person(data.nik.hash(NIK["budi"]))["id"], "kantor")
    with pytest.raises(sqlite3.IntegrityError, match="check_out before check_in|visits_out_after_in"):
        with data.store.write():
            data.store.close_visit(visit["id"], "kantor", visit["check_in"] - 1, "door")
    with pytest.raises(sqlite3.IntegrityError, match="check_out before check_in|visits_out_after_in"):
        with data.store.write():
            data.store._run("INSERT INTO visits (person_id, site_id, role, check_in, check_out, how_in)"
                            " VALUES (NULL, 'kantor', 'visitor', 100, 99, 'door')")
    assert inside(data) == 1


def test_an_old_queued_exit_closes_nothing_that_began_after_it(data, people):
    # Budi read his card at the exit 60 s ago, offline; meanwhile he came in again. The replay is recorded only.
    unit_scan(data, people["budi"], 1, NOW)
    assert inside(data) == 1
    out = unit_scan(data, people["budi"], 7, NOW - 60, device="unit-out", queued=True, direction=OUT)
    assert (out.verdict, out.reason, out.occupancy) == (EXIT, R_NOT_INSIDE, 1)
    assert last_event(data)["queued"] == 1


def test_a_queued_exit_after_check_in_closes_the_visit_at_its_read_time(data, people):
    unit_scan(data, people["budi"], 1, NOW)
    out = unit_scan(data, people["budi"], 2, NOW + 600, device="unit-out", queued=True, direction=OUT)
    assert (out.reason, out.occupancy) == (R_CHECKED_OUT, 0)
    [visit] = data.store.visits_of(data.store.find_person(data.nik.hash(NIK["budi"]))["id"], 0)
    assert visit["check_out"] == int(NOW + 600)


def test_queued_exit_before_a_later_soft_readmission_closes_nothing(data, people):
    registry.set_site(data, "kantor", anti_passback="soft")
    unit_scan(data, people["budi"], 1, NOW)
    # He left at NOW+100 through the exit, whose unit was offline; came back at NOW+200 and the host, still
    # thinking him inside, let him in uncounted (soft). The exit's replay must not take him out of the count.
    again = unit_scan(data, people["budi"], 2, NOW + 200)
    assert (again.verdict, again.reason, again.flagged) == (GREEN, R_ALREADY_INSIDE, True)
    unit_scan(data, people["budi"], 3, NOW + 100, device="unit-out", queued=True, direction=OUT)
    assert inside(data) == 1


def test_a_queued_entry_is_recorded_at_its_read_time_and_admits_nobody(data, people):
    decision = unit_scan(data, people["budi"], 4, NOW - 600, queued=True)
    assert decision.occupancy == 0 and inside(data) == 0
    assert last_event(data)["time"] == int(NOW - 600)


# -- anti-passback


def test_one_card_at_a_full_site_lets_nobody_else_in(data, people):
    for name in ("budi", "eko", "fajar"):
        assert scan(data, people[name]).verdict == GREEN
    for i in range(5):  # the card of someone inside, shown again and again
        again = scan(data, people["budi"], at=NOW + 10 + i)
        assert (again.verdict, again.reason, again.flagged, again.admitted) == (INVALID, R_ALREADY_INSIDE, True,
                                                                                False)
    assert inside(data) == 3


def test_soft_anti_passback_admits_again_only_while_a_place_is_free(data, people):
    registry.set_site(data, "kantor", anti_passback="soft")
    scan(data, people["budi"])
    again = scan(data, people["budi"], at=NOW + 5)
    assert (again.verdict, again.reason, again.flagged, again.occupancy) == (GREEN, R_ALREADY_INSIDE, True, 1)
    scan(data, people["eko"], at=NOW + 6)
    scan(data, people["fajar"], at=NOW + 7)
    full = scan(data, people["budi"], at=NOW + 8)
    assert (full.verdict, full.reason, full.admitted) == (INVALID, R_ALREADY_INSIDE, False)
    assert inside(data) == 3


def test_offline_then_rescan_at_the_same_unit_gets_in_and_counts_once(data, people):
    # Scan 1 was admitted, but the unit had already shown OFFLINE. Before its next scan it settles scan 1 with the
    # host (its QUEUED replay, ACKed first: protocol/README.md), so the rescan finds Budi outside and lets him in.
    assert unit_scan(data, people["budi"], 1, NOW).verdict == GREEN
    unit_scan(data, people["budi"], 1, NOW + 3, queued=True)
    assert inside(data) == 0
    rescan = unit_scan(data, people["budi"], 2, NOW + 4)
    assert (rescan.verdict, rescan.occupancy) == (GREEN, 1)
    unit_scan(data, people["budi"], 1, NOW + 9, queued=True)  # the same replay again (its ACK was lost)
    assert inside(data) == 1
    kinds = sorted((e["verdict"], e["reason"]) for e in data.store.list_events())
    assert kinds.count((OFFLINE, R_NOT_SHOWN)) == 1


def test_an_unshown_admission_is_not_undone_once_a_later_admission_relies_on_it(data, people):
    # Issue 13 (a): OFFLINE shown, rescanned elsewhere and let in (soft); then the first scan's replay arrives.
    registry.set_site(data, "kantor", anti_passback="soft")
    unit_scan(data, people["budi"], 1, NOW)
    assert unit_scan(data, people["budi"], 1, NOW + 5, device="unit-in-2").verdict == GREEN
    unit_scan(data, people["budi"], 1, NOW + 9, queued=True)
    assert inside(data) == 1  # he is inside: the count does not drop


def test_an_unshown_admission_refused_on_rescan_elsewhere_is_undone(data, people):
    # Hard: the rescan at another unit is refused (the host still had him inside); the replay then undoes the
    # admission nobody saw, and his next scan lets him in.
    unit_scan(data, people["budi"], 1, NOW)
    assert unit_scan(data, people["budi"], 1, NOW + 5, device="unit-in-2").reason == R_ALREADY_INSIDE
    unit_scan(data, people["budi"], 1, NOW + 9, queued=True)
    assert inside(data) == 0
    assert unit_scan(data, people["budi"], 2, NOW + 12, device="unit-in-2").verdict == GREEN
    assert inside(data) == 1
