"""The decision: a pure function of a person's standing, the site's state and policy, the door's direction, the day.

No I/O and no clock: everything it needs comes in as arguments, so every rule is a row in a table test.
Whoever scans, a registry person (a Pintu card, a guard's manual entry) or the holder of an EU certificate, comes in
as one `Standing` (`person_standing`, eu_rules.standing) and is judged by the ONE profile table below, once.
Rules, in order (the first that applies wins):
  1. a scan at an exit door (or an exit scan at a two-way door) -> EXIT; it checks the person out. An exit needs only
     to identify the visit: a revoked card, an expired certificate or a positive status still checks out, flagged
     (`exit_outcome`; issue 13: "exits always work");
  2. positive or close contact, within its window (or a recent positive test) -> BLACK, flagged for the guard;
  3. the site's profile counts the doses given on or before today -> GREEN, YELLOW or RED
     (a site that accepts tests lets a current negative test or recovery stand in for doses; a certificate with no
     vaccination entry that nothing stands in for is INVALID; a site that does not admit on YELLOW turns YELLOW into
     RED, with the referral clinic);
  4. anti-passback: someone already inside is not let in again by an entry door: INVALID/already_inside, flagged
     (`hard`, the default); a `soft` site admits a GREEN again without counting twice, flagged, only while the site
     is not full;
  5. the site at capacity (people inside plus places held for the guard) -> FULL;
  6. YELLOW holds a place and waits for the guard (HOLD: the door stays shut) unless a guard is the one entering
     the person (`pintu admit`: guard_present), who then admits as YELLOW.
Health comes before capacity so that a positive person at a full site still alerts the guard; RED comes before FULL
so that the person learns where to get vaccinated rather than just to wait.
"""

import functools
from collections import namedtuple

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
    R_GUARD_CHECK,
    R_NO_DOSE,
    R_NOT_INSIDE,
    R_OK,
    R_POSITIVE,
    R_SITE_FULL,
    R_TOO_FEW_DOSES,
    R_UNKNOWN,
    RED,
    YELLOW,
)

ROLES = ("asn", "staff", "visitor")
EMPLOYEE_ROLES = ("asn", "staff")
STATUSES = ("positive", "contact", "clear")
DIRECTIONS = ("in", "out", "both")
ANTI_PASSBACK = ("hard", "soft")
DEFAULT_ANTI_PASSBACK = "hard"

# profile: (doses for GREEN, doses for YELLOW). Fewer than the YELLOW figure is RED.
PROFILES = {
    "dose1": (1, 1),  # Bekasi 2021: a first dose is enough
    "full": (2, 1),
    "booster": (3, 2),
}
DEFAULT_PROFILE = "dose1"

# What a door shows besides its colour: printable ASCII, at most 64 characters (the protocol's MAX_TEXT).
SHOW_MAX = 64
SHOW = {
    YELLOW: "Please wait for the guard to check",
    HOLD: "Please wait for the guard to check",
    BLACK: "Please see the guard",
    FULL: "Site full, please wait",
    INVALID: "Code not valid, see the guard",
}

PersonState = namedtuple("PersonState", ("role", "dose_dates", "status", "status_since", "status_until"))
PersonState.__doc__ = "dose_dates: ISO days, any order; status: positive|contact|clear; since/until: ISO days or None"
SiteState = namedtuple(
    "SiteState",
    ("policy", "capacity", "inside", "yellow_admits", "referral", "accept_tests", "anti_passback", "held"),
    defaults=(False, DEFAULT_ANTI_PASSBACK, 0),
)
SiteState.__doc__ = (
    "accept_tests: a current negative test or recovery (EU certificate) may stand in for doses; anti_passback: "
    "hard|soft; held: places held for the guard's check (pending YELLOWs), which count against capacity"
)
Standing = namedtuple("Standing", ("doses", "block", "stand_in", "refusal"))
Standing.__doc__ = (
    "What the profile judges, on the day. doses: counted; block: (BLACK reason, detail) or None; stand_in: what a "
    "test or recovery says where the site accepts tests, (R_OK, detail) to admit or (reason, rule) to refuse, or "
    "None; refusal: (reason, detail) when the doses cannot admit at all (no vaccination entry, a vaccine the site "
    "does not accept), or None"
)
Health = namedtuple("Health", ("verdict", "reason", "detail"))
Outcome = namedtuple("Outcome", ("verdict", "reason", "show", "admit", "check_out", "alert"))
Outcome.__doc__ = "admit: open a visit (unless inside); check_out: close the open visit; alert: flag for the guard"

NO_VACCINATION = "no_vaccination"  # the refusal detail of a certificate with no vaccination entry
ALREADY_INSIDE_SHOW = "Already inside, please see the guard"
_BLOCKS = {"positive": R_POSITIVE, "contact": R_CONTACT}


@functools.lru_cache(maxsize=1024)  # a few texts (the SHOW table, sites' referrals) at every scan
def printable(text, limit=SHOW_MAX):
    """Squeeze text into what a door unit can show: printable ASCII, at most limit characters."""
    out = "".join(ch if " " <= ch <= "~" else "?" for ch in str(text or ""))
    return out[:limit]


def _outcome(verdict, reason, show="", admit=False, check_out=False, alert=False):
    return Outcome(verdict, reason, printable(show or SHOW.get(verdict, "")), admit, check_out, alert)


def refuse_code(reason):
    """A code that could not be read or verified: INVALID, whatever the door."""
    return _outcome(INVALID, reason)


def in_window(since, until, today):
    return (since is None or since <= today) and (until is None or today <= until)


def doses_by(dose_dates, today):
    return sum(1 for day in dose_dates if day and day <= today)


def person_standing(person, today):
    """A registry person's standing on the day: doses given by then, and a positive/contact status in its window."""
    block = None
    if person.status in _BLOCKS and in_window(person.status_since, person.status_until, today):
        block = (_BLOCKS[person.status], person.status)
    return Standing(doses_by(person.dose_dates, today), block, None, None)


def judge(standing, profile, yellow_admits=True, accept_tests=False):
    """The health part of the decision (rules 2 and 3): a Health(verdict, reason, detail) from a standing under the
    site's profile. The one place the profile table is read, YELLOW becomes RED and a block becomes BLACK."""
    if profile not in PROFILES:
        raise ValueError("unknown policy profile %r (known: %s)" % (profile, ", ".join(PROFILES)))
    if standing.block is not None:
        return Health(BLACK, standing.block[0], standing.block[1])
    green, yellow = PROFILES[profile]
    doses = standing.doses
    counted = "doses=%d" % doses
    if standing.refusal is None and doses >= green:
        return Health(GREEN, R_OK, counted)
    if accept_tests and standing.stand_in is not None:
        reason, detail = standing.stand_in
        return Health(GREEN if reason == R_OK else INVALID, reason, detail)
    if standing.refusal is not None:
        return Health(INVALID, *standing.refusal)
    if doses >= yellow:
        return Health(YELLOW, R_GUARD_CHECK, counted) if yellow_admits else Health(RED, R_TOO_FEW_DOSES, counted)
    return Health(RED, R_NO_DOSE if doses == 0 else R_TOO_FEW_DOSES, counted)


def decide(person, site, direction, today, already_inside=False, standing=None, guard_present=False):
    """Decide one scan. person: PersonState or None (unknown); site: SiteState; direction: IN or OUT
    (the effective direction, see effective_direction); today: ISO day. Returns an Outcome.

    standing: the Standing of an EU certificate the person carries (eu_rules.standing); it takes the place of the
    registry person's own (person_standing). guard_present: a guard is entering the person by hand (`pintu admit`),
    so a YELLOW needs no further confirmation."""
    if person is None and standing is None:
        return refuse_code(R_UNKNOWN)
    if standing is None:
        standing = person_standing(person, today)
    if direction == OUT:
        # Rule 1 before health: nobody is kept inside; a positive person leaving is flagged for the guard.
        return exit_outcome(already_inside, standing.block[0] if standing.block is not None else None)
    verdict, reason, _ = judge(standing, site.policy, site.yellow_admits, site.accept_tests)
    if verdict == BLACK:
        return _outcome(BLACK, reason, alert=True)
    if verdict == INVALID:
        return refuse_code(reason)
    if verdict == RED:
        return _outcome(RED, reason, show=site.referral)
    taken = site.inside + site.held
    if already_inside:
        # Anti-passback (issue 13): one card must not let a crowd in. A card shown again at an entry door by someone
        # the record has inside is a card passed back out, or a second person: refused and flagged (hard). A soft
        # site admits a GREEN again, uncounted, only while a place is free, so a shared card cannot overfill it.
        if site.anti_passback == "soft" and verdict == GREEN and taken < site.capacity:
            return _outcome(GREEN, R_ALREADY_INSIDE, admit=True, alert=True)
        return _outcome(INVALID, R_ALREADY_INSIDE, show=ALREADY_INSIDE_SHOW, alert=True)
    if taken >= site.capacity:  # places held for the guard's check are taken too (issue 13: YELLOW holds a place)
        return _outcome(FULL, R_SITE_FULL)
    if verdict == YELLOW and not guard_present:
        # Architecture, "YELLOW waits for a person": a place is held, the door stays shut until a guard confirms.
        return _outcome(HOLD, reason)
    return _outcome(verdict, reason, admit=True)


def exit_outcome(inside, flag=None):
    """Rule 1: an exit needs only to identify the visit (issue 13, "exits always work"). flag: the reason this
    person would be refused at an entry (revoked, expired, not_yet_valid, positive, contact) or None; a flagged exit
    still checks out, and the event carries that reason and the guard's flag; reason not_inside when there is no
    visit to close."""
    if not inside:
        return _outcome(EXIT, R_NOT_INSIDE, alert=flag is not None)  # nothing to close; still worth a look if flagged
    if flag is not None:
        return _outcome(EXIT, flag, check_out=True, alert=True)
    return _outcome(EXIT, R_CHECKED_OUT, check_out=True)


def effective_direction(door_direction, scan_direction=IN):
    """An exit-only door always checks out and an entry-only door always checks in; a two-way door
    follows the direction the unit reports."""
    if door_direction == "out":
        return OUT
    if door_direction == "in":
        return IN
    return OUT if scan_direction == OUT else IN


def admitted(verdict):
    """Whether a verdict lets the person through (the CLI's exit code 0): YELLOW is an admission the guard
    completes, EXIT lets the person out."""
    return verdict in (GREEN, YELLOW, EXIT)
