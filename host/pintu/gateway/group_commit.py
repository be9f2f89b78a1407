"""The frames waiting for the gateway's decider thread, and that thread: group commit's queue (issue 17).

Frames are taken in arrival order; the decider hands those that arrived while its last transaction was open, up to
batch_max, to decide(batch) — one write transaction for all of them (gateway.py) — then releases their answers.
Under overload the queue sheds instead of growing or blocking:
- a frame that waited longer than a unit waits for its verdict (stale_s) is dropped undecided: its unit has shown
  OFFLINE and queued the scan, and replays it as QUEUED. Deciding it late would open a visit for a door that stayed
  shut (undone only when the replay comes) and spend the time the fresh frames behind it need;
- beyond queue_max frames waiting, put() without waits drops the new frame instead of blocking the broker client's one
  network thread (blocked for 1.5 keepalives, the broker cuts the worker off and every frame queued for it is lost).
  A put() that waits (a serial port's own thread) waits for room instead.
Every unit message is repeated until answered (SCAN resent then queued, QUEUED replayed, HELLO repeated), so a shed
frame delays, never loses: nothing of it was recorded, its frame counter is not spent."""

import logging
import threading
import time
from collections import deque
from contextlib import contextmanager

from pintu.gateway.counted_log import CountedLog

log = logging.getLogger("pintu.gateway")

# At most this many frames share one transaction: bounds how long one COMMIT keeps the first frame of a batch waiting
# (64 decisions are about 2 ms of work on one core) and how much one failed transaction leaves unanswered.
BATCH_MAX = 64
QUEUE_MAX = 4096
IDLE_S = 1.0  # the decider thread ends after this long without frames (and starts again with the next)


class Pending:
    """A frame waiting for its batch, with the reply() of the link it came from; the decider replies after the
    COMMIT. waits: the caller waits on done (Gateway.handle); otherwise it went on at once (Gateway.submit)."""

    __slots__ = ("frame", "origin", "reply", "answers", "done", "came")

    def __init__(self, frame, origin, reply, waits=False):
        self.frame, self.origin, self.reply = frame, origin, reply
        self.answers = []
        self.done = threading.Event() if waits else None
        self.came = time.monotonic()


class FrameQueue:
    """decide(batch): sets each Pending's answers (none when the transaction failed). checkpoints(): an object with
    close() running beside the decider while frames flow (SQLite's checkpoints), or None. stats: a Counter."""

    def __init__(self, decide, checkpoints, stats, batch_max=BATCH_MAX, queue_max=QUEUE_MAX, stale_s=2.0):
        self.decide = decide
        self.checkpoints = checkpoints
        self.stats = stats
        self.batch_max = batch_max
        self.queue_max = queue_max
        self.stale_s = stale_s
        self._shed_log = CountedLog(log, "overload: dropped undecided", interval_s=10.0)
        self._queue = deque()
        self._wake = threading.Condition()
        self._decider = None
        self._busy = False  # a batch taken and not yet answered
        self._closed = False

    def put(self, frame, origin, reply, waits=False):
        """-> the Pending, or None when the queue is closed or (not waits) full."""
        pending = Pending(frame, origin, reply, waits)
        with self._wake:
            while waits and len(self._queue) >= self.queue_max and not self._closed:
                self._wake.wait()
            if self._closed:
                return None
            if len(self._queue) >= self.queue_max:
                self._shed("queue_full", 1)
                return None
            self._queue.append(pending)
            if self._decider is None:
                self._decider = threading.Thread(target=self._run, name="pintu decider", daemon=True)
                self._decider.start()
            else:
                self._wake.notify_all()
        return pending

    def in_decider(self):
        return threading.current_thread() is self._decider

    @contextmanager
    def held(self):
        """The decider takes nothing while this runs (the condition is re-entrant: this thread may still put)."""
        with self._wake:
            yield

    @contextmanager
    def between_batches(self):
        """No batch is being decided or answered while this runs, and none starts (frames sent to units inside it
        come after every answer drawn before it, and before every later one)."""
        with self._wake:
            self._wake.wait_for(lambda: not self._busy)
            yield

    def wait_idle(self, timeout=None):
        """Wait until every frame taken so far is decided and its answers released. -> False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self):
        """Decide the frames already taken; later put()s get None."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
            decider = self._decider
        if decider is not None and decider is not threading.current_thread():
            decider.join()
        self._shed_log.flush()

    def _run(self):
        checkpoints = self.checkpoints()
        try:
            self._decide_until_idle()
        finally:
            if checkpoints is not None:
                checkpoints.close()

    def _decide_until_idle(self):
        while True:
            with self._wake:
                while not self._queue:
                    if self._closed or not self._wake.wait(IDLE_S) and not self._queue:
                        self._decider = None
                        return
                batch = [self._queue.popleft() for _ in range(min(self.batch_max, len(self._queue)))]
                self._busy = True
                self._wake.notify_all()  # put() callers waiting for room
            now = time.monotonic()
            fresh = [pending for pending in batch if now - pending.came < self.stale_s]
            if len(fresh) < len(batch):
                self._shed("stale", len(batch) - len(fresh))
            try:
                if fresh:
                    self.decide(fresh)
            finally:  # whatever happened, no caller of put(waits=True) is left waiting
                self._release(batch)
            with self._wake:
                self._busy = False
                self._wake.notify_all()

    def _release(self, batch):
        """Every answer is sent here, before the next batch is taken: in the order their counters were drawn."""
        for pending in batch:
            for answer in pending.answers:
                try:
                    pending.reply(answer)
                except Exception:  # a link that cannot send loses that answer (the unit resends), nothing more
                    log.exception("answer not sent")
            if pending.done is not None:
                pending.done.set()

    def _shed(self, why, count):
        """Frames dropped undecided under overload: counted, and said at most once per 10 s with the count."""
        self.stats["shed_" + why] += count
        self._shed_log.note("", why, None, count)
