"""Log lines that a flood must not multiply: at most one per key per interval, with the count of what happened since.

Refused frames are one per device per minute (a flood of junk from one login must not fill the disk); frames shed
under overload, one line per 10 s."""

import time
from collections import Counter

REFUSAL_LOG_S = 60.0


class CountedLog:
    """The first event of a key is said at once; later ones are counted and said in one line when the interval is over
    and another arrives (or on flush()). text: the line's start, with %s for the key when it names one."""

    def __init__(self, logger, text, interval_s=REFUSAL_LOG_S, clock=time.monotonic):
        self.logger = logger
        self.text = text
        self.interval_s = interval_s
        self.clock = clock
        self._keys = {}  # key -> [time of the last line, Counter of events since]

    def note(self, key, kind, detail, count=1):
        now = self.clock()
        entry = self._keys.get(key)
        if entry is None or now - entry[0] >= self.interval_s:
            held = entry[1] if entry else Counter()
            held[kind] += count
            self._say(key, held, detail)
            self._keys[key] = [now, Counter()]
            if len(self._keys) > 10000:  # junk claiming ever new device ids must not grow this without end
                self._keys.clear()
        else:
            entry[1][kind] += count

    def flush(self):
        for key, (_, held) in self._keys.items():
            if held:
                self._say(key, held, None)
        self._keys.clear()

    def _say(self, key, held, detail):
        counts = ", ".join("%d %s" % (n, kind) for kind, n in sorted(held.items()))
        start = self.text % key if "%s" in self.text else self.text
        self.logger.warning("%s: %s%s", start, counts, " (last: %s)" % detail if detail else "")
