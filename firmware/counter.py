"""The unit's counter store: its session's frame counters (next_tx, accept_rx: the contract in
pintu_protocol/counters.py) and its scan ids, with the sent counter reserved on flash in blocks, so that flash is
written once per block, not per frame.

The file holds the first counter value of the next unreserved block, as decimal text. Before the unit uses a counter
that reaches that value, it first writes value + BLOCK (atomically: temp file, then rename). After a reboot it starts
from the stored value, which is above anything it can have used: at most BLOCK values are skipped per reboot, and
2**32 counters last for millions of reboots. See firmware/README.md.

Scan ids are drawn from the same store (App._on_code calls next_tx): one never-reused space on flash for both, so
a scan id is never reused across reboots (the host answers a scan id it has seen with the decision it recorded) and
never equals an older scan's (a replayed VERDICT answers no pending scan). The frames skip the values taken as scan
ids; the host only needs them increasing. Host counters are checked within the uptime only (protocol/README.md)."""

BLOCK = 256
_NAME = "counter"


class CounterError(Exception):
    pass


class CounterStore:
    def __init__(self, files):
        self._files = files
        self.limit = 0  # counters below this may be used without writing flash
        self.tx = 0  # the last counter used, by a frame or as a scan id
        self.rx = 0  # the last host counter accepted since boot

    def load(self):
        """The counter to start from (the last one considered used); reserves the first block before returning."""
        raw = self._files.read(_NAME)
        if raw is None:
            start = 0
        else:
            try:
                start = int(raw.decode().strip())
            except (ValueError, UnicodeError):
                start = -1
            if start < 0:
                # Rename is atomic, so this is flash damage, not a power cut. Starting low would be refused as a
                # replay by the host for ever: stop and show it instead (the host's provisioning resets it).
                raise CounterError("counter file damaged")
        self.tx = start
        self._reserve(start + 1)  # fails now, at boot, if the flash cannot be written
        return start

    def next_tx(self):
        n = self.tx + 1
        if n >= self.limit:
            self._reserve(n)  # on flash before n is used: a power cut now skips the block, never reuses a value
        self.tx = n
        return n

    def accept_rx(self, n):
        if n <= self.rx:
            return False
        self.rx = n
        return True

    def _reserve(self, counter):
        limit = counter + BLOCK
        self._files.write_atomic(_NAME, ("%d\n" % limit).encode())
        self.limit = limit  # only once written: after a failed write the next call tries again, never runs past it
