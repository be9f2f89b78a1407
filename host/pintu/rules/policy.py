"""The decision: a pure function of the person's state, the site's state and policy, the door's direction and the day.

No I/O and no clock: everything it needs comes in as arguments, so every rule is a row in a table test.
Rules, in order (the first that applies wins):
  1. a scan at an exit door (or an exit scan at a two-way door) -> EXIT; it checks the person out;
  2. positive or close contact, within its window -> BLACK, flagged for the guard;
  3. the site's profile counts the doses given on or before today -> GREEN, YELLOW or RED
     (a site that does not admit on YELLOW turns YELLOW into RED, with the referral clinic);
  4. someone already inside is admitted again without counting twice;
  5. the site at capacity -> FULL.
Health comes before capacity so that a positive person at a full site still alerts the guard; RED comes before FULL
so that the person learns where to get vaccinated rather than just to wait.
"""

from collections import namedtuple

from pintu_protocol.messages import IN, OUT
from pintu_protocol.verdicts import (
    BLACK,
    EXIT,
    FULL,
    GREEN,
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
    BLACK: "Please see the guard",
    FULL: "Site full, please wait",
    INVALID: "Code not valid, see the guard",
}

PersonState = namedtuple("PersonState", ("role", "dose_dates", "status", "status_since", "status_until"))
PersonState.__doc__ = "dose_dates: ISO days, any order; status: positive|contact|clear; since/until: ISO days or None"
SiteState = namedtuple("SiteState", ("policy", "capacity", "inside", "yellow_admits", "referral"))
Outcome = namedtuple("Outcome", ("verdict", "reason", "show", "admit", "check_out", "alert"))
Outcome.__doc__ = "admit: open a visit (unless inside); check_out: close the open visit; alert: flag for the guard"


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


def entry_verdict(policy, doses, yellow_admits):
    """(verdict, reason) from the dose count alone."""
    green, yellow = PROFILES[policy]
    if doses >= green:
        return GREEN, R_OK
    if doses >= yellow:
        return (YELLOW, R_GUARD_CHECK) if yellow_admits else (RED, R_TOO_FEW_DOSES)
    return RED, (R_NO_DOSE if doses == 0 else R_TOO_FEW_DOSES)


def decide(person, site, direction, today, already_inside=False, entry=None):
    """Decide one scan. person: PersonState or None (unknown); site: SiteState; direction: IN or OUT
    (the effective direction, see effective_direction); today: ISO day. Returns an Outcome.

    entry: (verdict, reason) already found from a certificate the person carries (an EU certificate's own doses,
    tests and recoveries under the site's profile, dcc.apply_policy); it takes the place of rules 2 and 3."""
    if person is None and entry is None:
        return refuse_code(R_UNKNOWN)
    if direction == OUT:
        return _outcome(EXIT, R_CHECKED_OUT if already_inside else R_NOT_INSIDE, check_out=already_inside)
    if entry is None:
        if person.status in ("positive", "contact") and in_window(person.status_since, person.status_until, today):
            return _outcome(BLACK, R_POSITIVE if person.status == "positive" else R_CONTACT, alert=True)
        verdict, reason = entry_verdict(site.policy, doses_by(person.dose_dates, today), site.yellow_admits)
    else:
        verdict, reason = entry
        if verdict == BLACK:
            return _outcome(BLACK, reason, alert=True)
        if verdict not in (GREEN, YELLOW, RED):
            return refuse_code(reason)
        if verdict == YELLOW and not site.yellow_admits:
            verdict, reason = RED, R_TOO_FEW_DOSES
    if verdict == RED:
        return _outcome(RED, reason, show=site.referral)
    if already_inside:
        return _outcome(verdict, R_ALREADY_INSIDE, admit=True)
    if site.inside >= site.capacity:
        return _outcome(FULL, R_SITE_FULL)
    return _outcome(verdict, reason, admit=True)


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
