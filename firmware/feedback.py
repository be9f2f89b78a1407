"""Feedback patterns as data (verdict pattern name -> timed LED colour and buzzer tone steps), and their player.

The player never blocks: play() starts a pattern, tick() advances it from the main loop. The relay pulse runs
beside the light pattern and is only ever started for a verdict that opens the door (pintu_protocol.verdicts)."""

from firmware.clock import ticks_add, ticks_diff
from pintu_protocol import verdicts

# A pattern is a flat tuple of steps, three items each: milliseconds, colour, buzzer Hz or 0. (Flat, not a tuple per
# step: that would be some 30 more small objects held on the unit's heap for ever, about 1 KB.) The last step of a
# verdict pattern holds for feedback_ms.
STEP = 3
PATTERNS = {
    "admit": (300, "green", 2000, 1500, "green", 0),
    "guard_check": (200, "yellow", 1500, 150, "off", 0, 200, "yellow", 1500, 1500, "yellow", 0),
    "refuse": (600, "red", 400, 1500, "red", 0),
    "alarm": (150, "red", 2800, 150, "off", 1900) * 8 + (1500, "red", 2800),  # BLACK: unmistakable, long, loud
    "wait": (250, "yellow", 800, 250, "off", 0, 250, "yellow", 800, 250, "off", 0, 1500, "yellow", 0),
    "invalid": (120, "red", 300, 120, "off", 0, 120, "red", 300, 1500, "red", 0),
    "goodbye": (150, "green", 1800, 150, "green", 1200, 1500, "green", 0),
    "see_guard": (300, "yellow", 600, 300, "red", 600, 300, "yellow", 600, 1500, "red", 0),
    # HOLD: steady yellow with a soft double chirp, the door shut, until the guard scans their card.
    "guard_wait": (150, "yellow", 1200, 1500, "yellow", 0),
    # GUARD_IDLE: a guard's card with nothing to confirm: a silent green blink, no relay.
    "guard_idle": (300, "green", 0, 1500, "off", 0),
    # Not verdicts: the unit's own states. They repeat until something else is played.
    "config_error": (400, "red", 0, 400, "yellow", 0, 400, "red", 0, 1200, "off", 0),
}
# The one pattern that repeats: a name, not a tuple of names (a tuple would be 16 more bytes of the unit's heap).
REPEATING = "config_error"


class Feedback:
    """Drives an LED output (show(colour)), an optional buzzer (tone(hz)) and an optional relay (set(on))."""

    def __init__(self, clock, leds, buzzer=None, relay=None):
        self._clock = clock
        self._leds = leds
        self._buzzer = buzzer
        self._relay = relay
        self._steps = ()
        self._index = 0
        self._step_start = 0
        self._hold_ms = None
        self._relay_until = None
        self.pattern = None  # name of the pattern playing, None when idle

    @property
    def busy(self):
        return self.pattern is not None

    def play(self, name, hold_ms=None, relay_ms=0):
        self._steps = PATTERNS.get(name) or PATTERNS["invalid"]
        self.pattern = name
        self._hold_ms = hold_ms
        self._index = 0
        now = self._clock.ticks_ms()
        if relay_ms and self._relay is not None:
            self._relay.set(True)
            self._relay_until = (now, relay_ms)
        self._apply(now)

    def verdict(self, code, hold_ms=None, relay_ms=0):
        """Play a verdict's pattern; the relay pulses only when the verdict opens the door."""
        self.play(verdicts.verdict_pattern(code), hold_ms, relay_ms if verdicts.opens_door(code) else 0)

    def _apply(self, now):
        i = self._index  # where the step starts in the flat tuple: ms, colour, tone
        self._step_start = now
        self._leds.show(self._steps[i + 1])
        if self._buzzer is not None:
            self._buzzer.tone(self._steps[i + 2])

    def _length(self, index):
        if index == len(self._steps) - STEP and self._hold_ms is not None and self.pattern != REPEATING:
            return self._hold_ms
        return self._steps[index]

    def tick(self):
        now = self._clock.ticks_ms()
        if self._relay_until is not None:
            start, ms = self._relay_until
            if ticks_diff(now, start) >= ms:
                self._relay.set(False)
                self._relay_until = None
        while self.pattern is not None and ticks_diff(now, self._step_start) >= self._length(self._index):
            ends = ticks_add(self._step_start, self._length(self._index))
            self._index += STEP
            if self._index >= len(self._steps):
                if self.pattern == REPEATING:
                    self._index = 0
                else:
                    self.stop()
                    return
            self._apply(ends)

    def stop(self):
        self.pattern = None
        self._leds.show("off")
        if self._buzzer is not None:
            self._buzzer.tone(0)
        if self._relay_until is not None:
            self._relay.set(False)
            self._relay_until = None
