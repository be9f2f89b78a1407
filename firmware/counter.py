"""The authentication counter across reboots, reserved in blocks so that flash is written once per block, not per frame.

The file holds the first counter value of the next unreserved block, as decimal text. Before the unit sends a frame
whose counter reaches that value, it first writes value + BLOCK (atomically: temp file, then rename). After a reboot
it starts from the stored value, which is above anything it can have sent: at most BLOCK values are skipped per
reboot, and 2**32 counters last for millions of reboots. See firmware/README.md."""

BLOCK = 256
_NAME = "counter"


class CounterError(Exception):
    pass


class CounterStore:
    def __init__(self, files, name=_NAME, block=BLOCK):
        self._files = files
        self._name = name
        self._block = block
        self.limit = 0  # counters below this may be used without writing flash
        self.start = None  # where this boot started (set by load)
        self.writes = 0

    def load(self):
        """The counter to start from (the last one considered used); reserves the first block before returning."""
        raw = self._files.read(self._name)
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
        self.limit = start
        self.ensure(start + 1)
        self.start = start
        return start

    def ensure(self, counter):
        """Call before using `counter`: reserves the next block when the current one is spent."""
        if counter >= self.limit:
            self.limit = counter + self._block
            self._files.write_atomic(self._name, ("%d\n" % self.limit).encode())
            self.writes += 1
