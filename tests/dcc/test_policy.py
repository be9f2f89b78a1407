"""Site policy profiles applied to verified certificates, and the test/recovery switch.

A certificate becomes a policy.Standing (eu_rules.standing) and policy.judge applies the one profile table to it,
exactly as policy.decide does at a door; the door-level rules (YELLOW without a guard, FULL, already inside) are
at the end."""

from datetime import timedelta

import pytest

from pintu.rules import eu_rules, hc1, policy
from pintu_protocol.messages import IN, OUT
from pintu_protocol.verdicts import (
    BLACK,
    EXIT,
    FULL,
    GREEN,
    HOLD,
    INVALID,
    R_ALREADY_INSIDE,
    R_CERT_INVALID,
    R_GUARD_CHECK,
    R_OK,
    R_POSITIVE,
    R_TOO_FEW_DOSES,
    RED,
    YELLOW,
)

from .factory import ID_KEY, NOW, claims, hc1_code, lab_test, recovery, vaccination


def verified(signer, hcert):
    code = hc1_code(signer, claims(hcert))
    return hc1.verify(code, hc1.index_anchors([signer.cert]), now=NOW, id_key=ID_KEY)


def judged(cert, profile, *, accept_test_or_recovery=False, rules=eu_rules.DEFAULT_RULES):
    standing = eu_rules.standing(cert, now=NOW, rules=rules)
    return policy.judge(standing, profile, accept_tests=accept_test_or_recovery)


def decide(cert, profile, **kw):
    d = judged(cert, profile, **kw)
    return d.verdict, d.reason


@pytest.mark.parametrize(
    "dn, sd, expected",
    [
        # 1 of 2 doses under each policy
        (1, 2, {"dose1": (GREEN, R_OK), "full": (YELLOW, R_GUARD_CHECK), "booster": (RED, R_TOO_FEW_DOSES)}),
        (2, 2, {"dose1": (GREEN, R_OK), "full": (GREEN, R_OK), "booster": (YELLOW, R_GUARD_CHECK)}),
        (3, 3, {"dose1": (GREEN, R_OK), "full": (GREEN, R_OK), "booster": (GREEN, R_OK)}),
        (3, 2, {"dose1": (GREEN, R_OK), "full": (GREEN, R_OK), "booster": (GREEN, R_OK)}),
        # a completed one-dose series counts as a completed primary series; a dose after it as a booster
        (1, 1, {"dose1": (GREEN, R_OK), "full": (GREEN, R_OK), "booster": (YELLOW, R_GUARD_CHECK)}),
        (2, 1, {"dose1": (GREEN, R_OK), "full": (GREEN, R_OK), "booster": (GREEN, R_OK)}),
        # an incomplete series (VR-EU-0002: dn < sd) is a first dose, never "full"
        (2, 3, {"dose1": (GREEN, R_OK), "full": (YELLOW, R_GUARD_CHECK), "booster": (RED, R_TOO_FEW_DOSES)}),
        (3, 5, {"dose1": (GREEN, R_OK), "full": (YELLOW, R_GUARD_CHECK), "booster": (RED, R_TOO_FEW_DOSES)}),
    ],
)
def test_profiles(ec_signer, dn, sd, expected):
    cert = verified(ec_signer, vaccination(dn=dn, sd=sd))
    assert {p: decide(cert, p) for p in policy.PROFILES} == expected


def test_one_of_two_doses_end_to_end(ec_signer):
    code = hc1_code(ec_signer, claims(vaccination(dn=1, sd=2)))
    trusted = hc1.index_anchors([ec_signer.cert])
    verdicts = {p: hc1.check(code, trusted, now=NOW, id_key=ID_KEY, profile=p).verdict for p in policy.PROFILES}
    assert verdicts == {"dose1": GREEN, "full": YELLOW, "booster": RED}


def test_decision_carries_holder_id_and_expiry(ec_signer):
    code = hc1_code(ec_signer, claims(vaccination()))
    cert = verified(ec_signer, vaccination())
    d = hc1.check(code, hc1.index_anchors([ec_signer.cert]), now=NOW, id_key=ID_KEY, profile="dose1")
    assert (d.holder_id, d.expires_at, d.doses, d.detail) == (cert.holder_id, cert.expires_at, 2, "doses=2")


def test_unknown_profile_is_a_caller_error(ec_signer):
    with pytest.raises(ValueError):
        judged(verified(ec_signer, vaccination()), "two-doses")
    with pytest.raises(ValueError):
        hc1.check(hc1_code(ec_signer), hc1.index_anchors([ec_signer.cert]), now=NOW, id_key=ID_KEY, profile="x")


def test_missing_vaccination_entry_is_invalid_with_the_switch_off(ec_signer):
    sc = (NOW - timedelta(hours=2)).isoformat()
    for hcert in (lab_test(sc), recovery("2022-05-01", "2022-10-01")):
        cert = verified(ec_signer, hcert)
        for profile in policy.PROFILES:
            d = judged(cert, profile)
            assert (d.verdict, d.reason, d.detail) == (INVALID, R_CERT_INVALID, policy.NO_VACCINATION)


@pytest.mark.parametrize(
    "age, result, expected",
    [
        (timedelta(hours=2), hc1.TEST_NOT_DETECTED, (GREEN, "negative_test")),
        (timedelta(hours=71, minutes=59), hc1.TEST_NOT_DETECTED, (GREEN, "negative_test")),
        (timedelta(hours=73), hc1.TEST_NOT_DETECTED, (INVALID, "TR-EU-0006")),  # too old
        (timedelta(hours=72), hc1.TEST_NOT_DETECTED, (INVALID, "TR-EU-0006")),  # exactly 72 h: over
        (timedelta(0), hc1.TEST_NOT_DETECTED, (GREEN, "negative_test")),  # collected at the decision time
        # taken in the future, or an unknown result: refused by verify itself (test_eu_rules.py)
    ],
)
def test_negative_test_counts_only_with_the_switch_on(ec_signer, age, result, expected):
    cert = verified(ec_signer, lab_test((NOW - age).isoformat(), tr=result))
    off = judged(cert, "full")
    assert (off.verdict, off.detail) == (INVALID, policy.NO_VACCINATION)
    on = judged(cert, "full", accept_test_or_recovery=True)
    assert (on.verdict, on.detail) == expected


def test_test_window_is_a_parameter(ec_signer):
    cert = verified(ec_signer, lab_test((NOW - timedelta(hours=30)).isoformat()))
    d = judged(cert, "dose1", accept_test_or_recovery=True, rules=eu_rules.DEFAULT_RULES._replace(naat_hours=24))
    assert d.verdict == INVALID


def test_test_time_with_z_suffix(ec_signer):
    cert = verified(ec_signer, lab_test((NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")))
    assert cert.tests[0].sample_time == (NOW - timedelta(hours=5)).replace(microsecond=0)
    assert judged(cert, "booster", accept_test_or_recovery=True).verdict == GREEN


@pytest.mark.parametrize(
    "fr, df, du, expected",
    [
        ("2022-04-20", "2022-05-01", "2022-10-01", GREEN),
        ("2022-04-20", "2022-06-01", "2022-06-01", GREEN),  # the window includes both ends
        ("2022-04-20", "2022-06-02", "2022-10-01", INVALID),  # not yet
        ("2021-11-20", "2021-12-01", "2022-05-15", INVALID),  # over
    ],
)
def test_recovery_counts_only_with_the_switch_on(ec_signer, fr, df, du, expected):
    cert = verified(ec_signer, recovery(df, du, fr=fr))
    assert judged(cert, "dose1").verdict == INVALID
    d = judged(cert, "booster", accept_test_or_recovery=True)
    assert d.verdict == expected
    if expected == GREEN:
        assert d.detail == "recovery"


def test_switch_does_not_rescue_too_few_doses_without_a_test(ec_signer):
    cert = verified(ec_signer, vaccination(dn=1, sd=2))
    assert decide(cert, "booster", accept_test_or_recovery=True) == (RED, R_TOO_FEW_DOSES)


def test_recent_positive_test_is_black_whatever_the_switch(ec_signer):
    cert = verified(ec_signer, lab_test((NOW - timedelta(hours=3)).isoformat(), tr=hc1.TEST_DETECTED))
    for switch in (False, True):
        assert decide(cert, "dose1", accept_test_or_recovery=switch) == (BLACK, R_POSITIVE)


def test_old_positive_test_is_not_black(ec_signer):
    cert = verified(ec_signer, lab_test((NOW - timedelta(days=30)).isoformat(), tr=hc1.TEST_DETECTED))
    assert decide(cert, "dose1", accept_test_or_recovery=True) == (INVALID, R_CERT_INVALID)


@pytest.mark.parametrize(
    "dn, sd, count", [(1, 2, 1), (2, 2, 2), (3, 3, 3), (4, 2, 4), (1, 1, 2), (2, 1, 3), (2, 3, 1), (3, 5, 1)]
)
def test_dose_count(dn, sd, count):
    assert eu_rules.dose_count(dn, sd) == count


# ---- the door: a certificate's standing through policy.decide, the path every scan takes


def door(cert, *, profile="full", capacity=5, inside=0, yellow_admits=True, accept_tests=False, already=False):
    site = policy.SiteState(profile, capacity, inside, yellow_admits, "Puskesmas", accept_tests)
    return policy.decide(None, site, IN, NOW.date().isoformat(), already, eu_rules.standing(cert, now=NOW))


def test_door_yellow_becomes_red_with_the_clinic_where_yellow_does_not_admit(ec_signer):
    cert = verified(ec_signer, vaccination(dn=1, sd=2))
    yellow = door(cert)  # waits for the guard: a place held, nobody admitted yet (issue 13)
    assert (yellow.verdict, yellow.reason, yellow.admit) == (HOLD, R_GUARD_CHECK, False)
    red = door(cert, yellow_admits=False)
    assert (red.verdict, red.reason, red.admit, red.show) == (RED, R_TOO_FEW_DOSES, False, "Puskesmas")


def test_door_positive_test_alerts_the_guard_even_when_full(ec_signer):
    cert = verified(ec_signer, lab_test((NOW - timedelta(hours=3)).isoformat(), tr=hc1.TEST_DETECTED))
    outcome = door(cert, capacity=1, inside=1, accept_tests=True)
    assert (outcome.verdict, outcome.reason, outcome.alert, outcome.admit) == (BLACK, R_POSITIVE, True, False)


def test_door_capacity_and_already_inside(ec_signer):
    cert = verified(ec_signer, vaccination())
    assert door(cert, capacity=1, inside=1).verdict == FULL
    again = door(cert, capacity=1, inside=1, already=True)  # anti-passback (hard, the default)
    assert (again.verdict, again.reason, again.admit, again.alert) == (INVALID, R_ALREADY_INSIDE, False, True)


def test_door_test_stands_in_only_where_the_site_accepts_tests(ec_signer):
    cert = verified(ec_signer, lab_test((NOW - timedelta(hours=2)).isoformat()))
    refused = door(cert)
    assert (refused.verdict, refused.reason, refused.admit) == (INVALID, R_CERT_INVALID, False)
    admitted = door(cert, accept_tests=True)
    assert (admitted.verdict, admitted.admit) == (GREEN, True)


def test_door_leaving_needs_no_health_check(ec_signer):
    cert = verified(ec_signer, lab_test((NOW - timedelta(hours=3)).isoformat(), tr=hc1.TEST_DETECTED))
    site = policy.SiteState("full", 5, 1, True, "Puskesmas", False)
    outcome = policy.decide(None, site, OUT, NOW.date().isoformat(), True, eu_rules.standing(cert, now=NOW))
    assert (outcome.verdict, outcome.check_out) == (EXIT, True)
