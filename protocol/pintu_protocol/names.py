"""The host's side of verdicts: their names and meanings for people (logs, events, the CLI), and the reason codes.

A door unit never imports this module (its heap is small; it shows colours, not words, and never looks at a
reason); the host reaches these names through pintu_protocol.verdicts, which loads this module on first use."""

from .verdicts import BLACK, EXIT, FULL, GREEN, GUARD_IDLE, HOLD, INVALID, OFFLINE, RED, YELLOW, verdict_pattern

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
R_NOT_SHOWN = 19  # recorded only: the unit had shown OFFLINE for this scan, so an admission was undone
# EU certificates refused by a named rule (host/pintu/rules: dcc_schema.py, signer.py, eu_rules.py; README)
R_SCHEMA = 20  # the payload does not conform to the DCC JSON schema 1.3 (incl. not exactly one entry)
R_SIGNER = 21  # issued outside the signer certificate's validity
R_SIGNER_USAGE = 22  # the signer's extended key usage does not cover this certificate type
R_DISEASE = 23  # GR-EU-0001: not a COVID-19 certificate
R_VACCINE = 24  # VR-EU-0001: a vaccine the site does not accept
R_VACCINATION_DATE = 25  # vaccination dated in the future
R_TEST_TYPE = 26  # TR-EU-0001: neither NAAT nor rapid antigen (e.g. an antibody test)
R_TEST_WINDOW = 27  # TR-EU-0005/0006: sample outside its validity window (too old, or in the future)
R_RECOVERY_WINDOW = 28  # RR-EU-0001/0002: outside df..du, or df/du not within 11..180 days of fr
# The guard's confirmation of a YELLOW (host/pintu/checkin/holds.py)
R_HOLD_EXPIRED = 29  # recorded only: nobody confirmed a held YELLOW in time; the place is released
R_GUARD_CONFIRMED = 30  # a guard confirmed a held YELLOW: admitted
R_GUARD_REFUSED = 31  # a guard refused a held YELLOW: the place is released
R_NOTHING_PENDING = 32  # a guard's card with no YELLOW waiting at that unit

# code: (name, meaning, feedback pattern name)
VERDICTS = {
    GREEN: ("GREEN", "admitted", verdict_pattern(GREEN)),
    YELLOW: ("YELLOW", "admit after a guard checks", verdict_pattern(YELLOW)),
    RED: ("RED", "refused: not vaccinated enough, see the clinic", verdict_pattern(RED)),
    BLACK: ("BLACK", "refused: positive or close contact, guard alerted", verdict_pattern(BLACK)),
    FULL: ("FULL", "refused: the site is full, please wait", verdict_pattern(FULL)),
    INVALID: ("INVALID", "refused: code not valid", verdict_pattern(INVALID)),
    EXIT: ("EXIT", "checked out", verdict_pattern(EXIT)),
    OFFLINE: ("OFFLINE", "no answer from the host, see the guard", verdict_pattern(OFFLINE)),
    HOLD: ("HOLD", "waiting for the guard: a place is held, the door stays shut", verdict_pattern(HOLD)),
    GUARD_IDLE: ("GUARD_IDLE", "a guard's card: nothing waiting for the guard", verdict_pattern(GUARD_IDLE)),
}

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
    R_NOT_SHOWN: "not_shown",
    R_SCHEMA: "schema",
    R_SIGNER: "signer_validity",
    R_SIGNER_USAGE: "signer_usage",
    R_DISEASE: "not_covid19",
    R_VACCINE: "vaccine_not_accepted",
    R_VACCINATION_DATE: "vaccination_date",
    R_TEST_TYPE: "test_type",
    R_TEST_WINDOW: "test_window",
    R_RECOVERY_WINDOW: "recovery_window",
    R_HOLD_EXPIRED: "hold_expired",
    R_GUARD_CONFIRMED: "guard_confirmed",
    R_GUARD_REFUSED: "guard_refused",
    R_NOTHING_PENDING: "nothing_pending",
}


def verdict_name(code):
    entry = VERDICTS.get(code)
    return entry[0] if entry else "UNKNOWN(%d)" % code


def reason_name(code):
    return REASONS.get(code, "other")
