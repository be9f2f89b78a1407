"""Verdict codes, each verdict's feedback pattern and whether it opens the door: what a door unit needs of them.

The rest is the host's business and lives in names.py: the verdicts' names and meanings for people (VERDICTS,
verdict_name) and the reason codes (R_*, REASONS, reason_name; a unit never looks at a reason). A door unit never
loads it: every name and string a unit imports stays on its small heap. On the host they are reachable from this
module as before (`from pintu_protocol.verdicts import R_OK, VERDICTS`): names.py is loaded on first use."""

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
HOLD = 8  # a YELLOW waiting for the guard: a place is held for a short time, the door stays shut
GUARD_IDLE = 9  # a guard's card scanned with nothing waiting for the guard: nobody is admitted

# Feedback pattern name of each verdict, indexed by its code. Firmware maps pattern names to LEDs, buzzer and relay.
# HOLD and GUARD_IDLE came later: a unit that does not know them shows the refusal pattern (verdict_pattern).
PATTERNS = ("admit", "guard_check", "refuse", "alarm", "wait", "invalid", "goodbye", "see_guard", "guard_wait",
            "guard_idle")

# The only verdicts that may pulse a door relay. YELLOW and HOLD wait for the guard; everything else refuses.
OPENS_DOOR = (GREEN, EXIT)


def verdict_pattern(code):
    """Feedback pattern for a verdict; an unknown code gets the refusal pattern, never an admit."""
    if isinstance(code, int) and 0 <= code < len(PATTERNS):
        return PATTERNS[code]
    return "invalid"


def opens_door(code):
    return code in OPENS_DOOR


_HOST_NAMES = ("VERDICTS", "REASONS", "verdict_name", "reason_name")  # and the R_* reason codes


def __getattr__(name):
    # PEP 562 (MicroPython has it too): called only for a name this module lacks, such as the host's names.
    if name in _HOST_NAMES or name.startswith("R_"):
        from . import names

        if hasattr(names, name):
            return getattr(names, name)
    raise AttributeError("module 'pintu_protocol.verdicts' has no attribute %r" % name)
