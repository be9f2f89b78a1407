"""Frame counters held in memory: a Session's default counter store (tests, tools, one-off peers).

The contract every store keeps (session.py calls it; the host's registry and a unit's flash blocks implement it):
    next_tx()     -> the counter for the next frame sent: above every counter this sender used before
    accept_rx(n)  -> True when n is above the last counter accepted from the peer, recording n in the same step;
                     False for a replay (never raises for one). A store shared by several receivers may accept a
                     counter not seen before within a window below the highest (the host's: 64, so frames handled
                     by several workers in any order are accepted once; host/pintu/data/replay_window.py)
Not loaded by `import pintu_protocol`: a unit passes its own store and never holds this class."""


class MemoryCounters:
    """tx: the last counter sent; rx: the last counter accepted. Forgotten when the process ends, so only for a
    peer whose counters need not survive it."""

    def __init__(self, tx=0, rx=0):
        self.tx = tx
        self.rx = rx

    def next_tx(self):
        self.tx += 1
        return self.tx

    def accept_rx(self, n):
        if n <= self.rx:
            return False
        self.rx = n
        return True
