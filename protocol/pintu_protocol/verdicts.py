"""Verdict and reason codes, with each verdict's meaning and feedback pattern: defined once, here."""

# PeduliLindungi's colours, one small integer each. OFFLINE is never sent by a host: a unit shows it
# when it has no verdict. A unit treats any code it does not know as a refusal.
GREEN = 0  # admit
YELLOW = 1  # admit only after a guard checks (e.g. first dose only under a strict policy)
RED = 2  # refuse: not vaccinated enough; the referral clinic is shown
BLACK = 3  # refuse: positive or close contact; the guard is alerted
FULL = 4  # refuse: the site is at capacity
INVALID = 5  # refuse: unreadable, forged, revoked, expired or unknown code
EXIT = 6  # checked out
OFFLINE = 7  # unit-local: no verdict from the host

# code: (name, meaning, feedback pattern name). Firmware maps pattern names to LEDs, buzzer and relay.
VERDICTS = {
    GREEN: ("GREEN", "admitted", "admit"),
    YELLOW: ("YELLOW", "admit after a guard checks", "guard_check"),
    RED: ("RED", "refused: not vaccinated enough, see the clinic", "refuse"),
    BLACK: ("BLACK", "refused: positive or close contact, guard alerted", "alarm"),
    FULL: ("FULL", "refused: the site is full, please wait", "wait"),
    INVALID: ("INVALID", "refused: code not valid", "invalid"),
    EXIT: ("EXIT", "checked out", "goodbye"),
    OFFLINE: ("OFFLINE", "no answer from the host, see the guard", "see_guard"),
}

# The only verdicts that may pulse a door relay. YELLOW waits for the guard; everything else refuses.
OPENS_DOOR = (GREEN, EXIT)


def verdict_name(code):
    entry = VERDICTS.get(code)
    return entry[0] if entry else "UNKNOWN(%d)" % code


def verdict_pattern(code):
    """Feedback pattern for a verdict; an unknown code gets the refusal pattern, never an admit."""
    entry = VERDICTS.get(code)
    return entry[2] if entry else "invalid"


def opens_door(code):
    return code in OPENS_DOOR


# Reason codes: why the host decided as it did. New codes may be added; a unit shows an unknown one as "other".
R_OK = 0
R_NO_DOSE = 1  # no vaccine dose recorded
R_TOO_FEW_DOSES = 2  # fewer doses than the site's policy needs
R_GUARD_CHECK = 3  # admissible, but the policy asks a guard to check first
R_POSITIVE = 4
R_CONTACT = 5
R_SITE_FULL = 6
R_UNREADABLE = 7  # not a code Pintu understands
R_FORGED = 8  # signature does not verify
R_REVOKED = 9
R_UNKNOWN = 10  # well-formed and signed, but unknown to this host
R_EXPIRED = 11
R_NOT_YET_VALID = 12
R_CHECKED_OUT = 13
R_NOT_INSIDE = 14  # exit scan without an open visit: harmless
R_ALREADY_INSIDE = 15  # entry scan by someone already inside: not counted twice
R_HOST_FAULT = 16  # the host could not record the decision: it fails closed
R_WRONG_DOOR = 17  # the device is not bound to a door, or the door is closed
R_CERT_INVALID = 18  # a vaccination certificate failed a check

REASONS = {
    R_OK: "ok",
    R_NO_DOSE: "no_dose",
    R_TOO_FEW_DOSES: "too_few_doses",
    R_GUARD_CHECK: "guard_check",
    R_POSITIVE: "positive",
    R_CONTACT: "contact",
    R_SITE_FULL: "site_full",
    R_UNREADABLE: "unreadable",
    R_FORGED: "forged",
    R_REVOKED: "revoked",
    R_UNKNOWN: "unknown",
    R_EXPIRED: "expired",
    R_NOT_YET_VALID: "not_yet_valid",
    R_CHECKED_OUT: "checked_out",
    R_NOT_INSIDE: "not_inside",
    R_ALREADY_INSIDE: "already_inside",
    R_HOST_FAULT: "host_fault",
    R_WRONG_DOOR: "wrong_door",
    R_CERT_INVALID: "cert_invalid",
}


def reason_name(code):
    return REASONS.get(code, "other")
