"""Every policy rule as a row: the decision function is pure, so the table is the specification."""

import pytest

from pintu.rules import policy
from pintu.rules.policy import PersonState, SiteState, decide, effective_direction
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
    R_CONTACT,
    R_EXPIRED,
    R_FORGED,
    R_GUARD_CHECK,
    R_NO_DOSE,
    R_NOT_INSIDE,
    R_OK,
    R_POSITIVE,
    R_REVOKED,
    R_SITE_FULL,
    R_TOO_FEW_DOSES,
    R_UNKNOWN,
    RED,
    YELLOW,
)

TODAY = "2021-09-01"
D1, D2, D3 = "2021-06-01", "2021-07-01", "2021-08-01"
FUTURE = "2021-12-01"


def person(doses=(), status="clear", since=None, until=None, role="visitor"):
    return PersonState(role, tuple(doses), status, since, until)


def site(profile="dose1", capacity=10, inside=0, yellow_admits=True, referral="Puskesmas Karang Kitri",
         anti_passback="hard", held=0):
    return SiteState(profile, capacity, inside, yellow_admits, referral, False, anti_passback, held)


# (id, person, site, direction, already inside, verdict, reason, admit, check_out, alert)
RULES = [
    # dose1 (Bekasi 2021): a first dose is enough
    ("dose1-0", person(), site("dose1"), IN, False, RED, R_NO_DOSE, False, False, False),
    ("dose1-1", person([D1]), site("dose1"), IN, False, GREEN, R_OK, True, False, False),
    ("dose1-2", person([D1, D2]), site("dose1"), IN, False, GREEN, R_OK, True, False, False),
    # full: 2 green, 1 yellow, 0 red
    ("full-0", person(), site("full"), IN, False, RED, R_NO_DOSE, False, False, False),
    # YELLOW holds a place and waits for the guard: HOLD, nobody admitted yet (holds.py admits on confirmation)
    ("full-1", person([D1]), site("full"), IN, False, HOLD, R_GUARD_CHECK, False, False, False),
    (
        "full-1-no-yellow",
        person([D1]),
        site("full", yellow_admits=False),
        IN,
        False,
        RED,
        R_TOO_FEW_DOSES,
        False,
        False,
        False,
    ),
    ("full-2", person([D1, D2]), site("full"), IN, False, GREEN, R_OK, True, False, False),
    ("full-3", person([D1, D2, D3]), site("full"), IN, False, GREEN, R_OK, True, False, False),
    # booster: 3 green, 2 yellow, fewer red
    ("booster-0", person(), site("booster"), IN, False, RED, R_NO_DOSE, False, False, False),
    ("booster-1", person([D1]), site("booster"), IN, False, RED, R_TOO_FEW_DOSES, False, False, False),
    ("booster-2", person([D1, D2]), site("booster"), IN, False, HOLD, R_GUARD_CHECK, False, False, False),
    (
        "booster-2-no-yellow",
        person([D1, D2]),
        site("booster", yellow_admits=False),
        IN,
        False,
        RED,
        R_TOO_FEW_DOSES,
        False,
        False,
        False,
    ),
    ("booster-3", person([D1, D2, D3]), site("booster"), IN, False, GREEN, R_OK, True, False, False),
    # a dose dated after today does not count yet
    ("future-dose", person([FUTURE]), site("dose1"), IN, False, RED, R_NO_DOSE, False, False, False),
    # positive / contact within the window: BLACK and an alert, whatever the doses
    (
        "positive",
        person([D1, D2, D3], "positive", "2021-08-30"),
        site(),
        IN,
        False,
        BLACK,
        R_POSITIVE,
        False,
        False,
        True,
    ),
    (
        "contact",
        person([D1], "contact", "2021-08-30", "2021-09-05"),
        site(),
        IN,
        False,
        BLACK,
        R_CONTACT,
        False,
        False,
        True,
    ),
    (
        "contact-last-day",
        person([D1], "contact", "2021-08-30", TODAY),
        site(),
        IN,
        False,
        BLACK,
        R_CONTACT,
        False,
        False,
        True,
    ),
    (
        "contact-over",
        person([D1], "contact", "2021-08-01", "2021-08-31"),
        site(),
        IN,
        False,
        GREEN,
        R_OK,
        True,
        False,
        False,
    ),
    ("positive-not-yet", person([D1], "positive", "2021-09-02"), site(), IN, False, GREEN, R_OK, True, False, False),
    ("clear", person([D1], "clear", "2021-08-01"), site(), IN, False, GREEN, R_OK, True, False, False),
    (
        "positive-at-full-site",
        person([D1], "positive", TODAY),
        site(capacity=1, inside=1),
        IN,
        False,
        BLACK,
        R_POSITIVE,
        False,
        False,
        True,
    ),
    # capacity
    ("full-site", person([D1]), site(capacity=2, inside=2), IN, False, FULL, R_SITE_FULL, False, False, False),
    ("last-place", person([D1]), site(capacity=2, inside=1), IN, False, GREEN, R_OK, True, False, False),
    ("zero-capacity", person([D1]), site(capacity=0), IN, False, FULL, R_SITE_FULL, False, False, False),
    (
        "yellow-full",
        person([D1]),
        site("full", capacity=1, inside=1),
        IN,
        False,
        FULL,
        R_SITE_FULL,
        False,
        False,
        False,
    ),
    ("red-before-full", person(), site(capacity=1, inside=1), IN, False, RED, R_NO_DOSE, False, False, False),
    # places held for the guard are taken places
    ("held-fills-the-site", person([D1]), site(capacity=2, inside=1, held=1), IN, False, FULL, R_SITE_FULL, False,
     False, False),
    ("held-and-a-place-left", person([D1]), site("full", capacity=3, inside=1, held=1), IN, False, HOLD,
     R_GUARD_CHECK, False, False, False),
    # anti-passback, hard (the default): already inside is refused at an entry door, flagged, never counted twice
    ("already-inside", person([D1]), site(capacity=1, inside=1), IN, True, INVALID, R_ALREADY_INSIDE, False, False,
     True),
    ("already-inside-free-places", person([D1]), site(capacity=9, inside=1), IN, True, INVALID, R_ALREADY_INSIDE,
     False, False, True),
    ("already-inside-yellow", person([D1]), site("full", capacity=1, inside=1), IN, True, INVALID, R_ALREADY_INSIDE,
     False, False, True),
    ("already-inside-positive-is-black", person([D1], "positive", TODAY), site(inside=1), IN, True, BLACK,
     R_POSITIVE, False, False, True),
    # anti-passback, soft: a GREEN is let in again, uncounted and flagged, only while a place is free
    ("soft-free", person([D1]), site(capacity=2, inside=1, anti_passback="soft"), IN, True, GREEN, R_ALREADY_INSIDE,
     True, False, True),
    ("soft-full", person([D1]), site(capacity=1, inside=1, anti_passback="soft"), IN, True, INVALID,
     R_ALREADY_INSIDE, False, False, True),
    ("soft-full-by-a-held-place", person([D1]), site(capacity=2, inside=1, held=1, anti_passback="soft"), IN, True,
     INVALID, R_ALREADY_INSIDE, False, False, True),
    ("soft-yellow", person([D1]), site("full", capacity=5, inside=1, anti_passback="soft"), IN, True, INVALID,
     R_ALREADY_INSIDE, False, False, True),
    # exit door: EXIT for everyone, checks out if inside
    ("exit", person([D1]), site(), OUT, True, EXIT, R_CHECKED_OUT, False, True, False),
    ("exit-not-inside", person([D1]), site(), OUT, False, EXIT, R_NOT_INSIDE, False, False, False),
    # exits always work: a positive person leaves, flagged
    ("exit-positive", person([], "positive", TODAY), site(), OUT, True, EXIT, R_POSITIVE, False, True, True),
    ("exit-contact-not-inside", person([], "contact", TODAY), site(), OUT, False, EXIT, R_NOT_INSIDE, False, False,
     True),
    # unknown person
    ("unknown", None, site(), IN, False, INVALID, R_UNKNOWN, False, False, False),
]


@pytest.mark.parametrize(
    "state, site_state, direction, inside, verdict, reason, admit, check_out, alert",
    [row[1:] for row in RULES],
    ids=[row[0] for row in RULES],
)
def test_rule(state, site_state, direction, inside, verdict, reason, admit, check_out, alert):
    outcome = decide(state, site_state, direction, TODAY, inside)
    assert (outcome.verdict, outcome.reason) == (verdict, reason)
    assert (outcome.admit, outcome.check_out, outcome.alert) == (admit, check_out, alert)


@pytest.mark.parametrize(
    "inside, flag, reason, check_out, alert",
    [
        (True, None, R_CHECKED_OUT, True, False),
        (False, None, R_NOT_INSIDE, False, False),
        (True, R_REVOKED, R_REVOKED, True, True),  # a card revoked during the visit: out, flagged
        (True, R_EXPIRED, R_EXPIRED, True, True),  # an EU certificate that expired during the visit
        (False, R_REVOKED, R_NOT_INSIDE, False, True),
    ],
)
def test_exit_needs_only_to_identify_the_visit(inside, flag, reason, check_out, alert):
    outcome = policy.exit_outcome(inside, flag)
    assert (outcome.verdict, outcome.reason, outcome.check_out, outcome.alert) == (EXIT, reason, check_out, alert)
    assert not outcome.admit


def test_a_guard_entering_someone_by_hand_admits_a_yellow():
    outcome = decide(person([D1]), site("full"), IN, TODAY, guard_present=True)
    assert (outcome.verdict, outcome.reason, outcome.admit) == (YELLOW, R_GUARD_CHECK, True)
    full = decide(person([D1]), site("full", capacity=1, held=1), IN, TODAY, guard_present=True)
    assert full.verdict == FULL  # the guard cannot take a place held for someone else


def test_red_shows_the_referral_clinic():
    outcome = decide(person(), site(referral="Puskesmas Karang Kitri"), IN, TODAY)
    assert outcome.show == "Puskesmas Karang Kitri"


def test_shown_text_fits_the_protocol():
    outcome = decide(person(), site(referral="Puskesmas Kecamatan Bekasi Timur – lantai dua, ruang 3" * 3), IN, TODAY)
    assert len(outcome.show) <= 64
    assert all(" " <= ch <= "~" for ch in outcome.show)


@pytest.mark.parametrize("verdict", [YELLOW, HOLD, BLACK, FULL, INVALID])
def test_refusals_and_guard_checks_say_what_to_do(verdict):
    assert policy.SHOW[verdict]


def test_refused_code():
    outcome = policy.refuse_code(R_FORGED)
    assert (outcome.verdict, outcome.reason, outcome.admit) == (INVALID, R_FORGED, False)


@pytest.mark.parametrize(
    "door, scan, expected",
    [("in", IN, IN), ("in", OUT, IN), ("out", IN, OUT), ("out", OUT, OUT), ("both", IN, IN), ("both", OUT, OUT)],
)
def test_effective_direction(door, scan, expected):
    assert effective_direction(door, scan) == expected


@pytest.mark.parametrize(
    "verdict, admitted",
    [(GREEN, True), (YELLOW, True), (EXIT, True), (RED, False), (BLACK, False), (FULL, False), (INVALID, False),
     (HOLD, False)],
)
def test_admitted(verdict, admitted):
    assert policy.admitted(verdict) is admitted
