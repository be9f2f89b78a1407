"""The gateway: where door units meet the host. One protocol session per device, fed by any transport.

A transport hands over whole frames with handle(frame, reply, origin) (waits for the answers) or submit() (does not);
the gateway authenticates them against the device registry, decides scans through the host core and answers through
reply(). It never knows the medium.
It also remembers, per unit, the reply of the link that last heard it: push_opens() sends a door open that a guard's
confirmation by hand asked for (checkin/door_opens.py) that way, unasked.

Group commit (issue 17). One decider thread per gateway (group_commit.py) takes the frames in arrival order and
handles those that arrived while its last transaction was open, up to BATCH_MAX, one after another in ONE write
transaction: frame counter, decision, event and the answer's counter of every frame, then one COMMIT. Each decision
sees the ones before it (one connection, in order), so capacity holds exactly. No answer leaves before the COMMIT
that records it: if the transaction fails (disk full, read-only, PostgreSQL gone, COMMIT refused) every frame of the
batch goes unanswered, its unit shows OFFLINE and replays the scan QUEUED later, as for any storage failure. A frame
whose decision fails on its own (a PintuError: its door was deleted) is rolled back alone to a savepoint and
answered as a host fault. The frame counters are accepted in the same transaction as the decision: a frame whose
batch was rolled back has not spent its counter, so its redelivery (a QoS 1 resend of the same frame) is decided
then instead of being dropped as a duplicate; a frame that was committed has. There is no wait for a batch to fill:
an idle gateway decides a lone frame at once; under load the batches grow by themselves while each COMMIT runs."""

import functools
import logging
import sqlite3
import threading
import time
from collections import Counter

import pintu_protocol as p
from pintu.checkin import decide_scan, door_opens, host_fault
from pintu.data import replay_window
from pintu.errors import PintuError
from pintu.gateway.counted_log import CountedLog
from pintu.gateway.group_commit import BATCH_MAX, QUEUE_MAX, FrameQueue, Pending
from pintu_protocol import errors as perr
from pintu_protocol.verdicts import GREEN, R_GUARD_CONFIRMED, R_HOST_FAULT

log = logging.getLogger("pintu.gateway")
security = logging.getLogger("pintu.security")


# What a unit is told after its HELLO. Feedback and relay timings suit a GM65 at a staffed door.
DEFAULT_CONFIG = p.Config(
    verdict_timeout_ms=2000, feedback_ms=3000, relay_ms=800, repeat_ms=5000, heartbeat_s=10, offline_queue=1
)


@functools.lru_cache(maxsize=1024)  # the same few texts (a site's referral) at every scan
def _text(value, limit=p.MAX_TEXT):
    """Text for a frame: printable ASCII only, cut to the field's limit (what the registry holds may be neither)."""
    value = "".join(c if " " <= c <= "~" else "?" for c in str(value or ""))
    return value[:limit]


class RegistryCounters:
    """A device's frame counters in the registry, as a protocol session's counter store (pintu_protocol/counters.py
    has the contract). Received counters go through a sliding window of 64 (data/replay_window.py) kept in the
    database and updated in one write transaction: frames of one unit handled by several workers in any order are all
    accepted once, a replay is refused, across restarts and across every worker sharing the database.
    last: the last refusal's kind (DUPLICATE: seen within the window; TOO_OLD: below it)."""

    def __init__(self, store, device_id):
        self.store = store
        self.device_id = device_id
        self.last = None

    def next_tx(self):
        return self.store.next_tx_counter(self.device_id)

    def accept_rx(self, n):
        self.last = self.store.accept_rx_counter(self.device_id, n)
        return self.last == replay_window.ACCEPTED


class Gateway:
    """Thread-safe: every transport thread may call handle() or submit(). Each device's session keeps its counters
    in the registry (RegistryCounters), so no frame is accepted twice, whichever worker handles it."""

    def __init__(self, data, clock=time.time, config=DEFAULT_CONFIG, batch_max=BATCH_MAX, queue_max=QUEUE_MAX):
        self.data = data
        self.clock = clock
        self.config = config
        self.stats = Counter()
        # A frame that waited longer than a unit waits for its verdict is shed (group_commit.py says why).
        self._frames = FrameQueue(self._decide_locked, self.data.store.background_checkpoints, self.stats,
                                  batch_max, queue_max, stale_s=config.verdict_timeout_ms / 1000.0)
        self._refusal_log = CountedLog(security, "refused from %s")
        self._sessions = {}
        # device -> reply() of the link that last heard it: a serial unit is reachable only on its own port, and a
        # worker sends door opens only to units it can reach. Only registered units get here: bounded by the registry.
        self._replies = {}
        self._lock = threading.Lock()  # held while a batch is decided, and by push_opens

    def close(self):
        """Decide the frames already taken, then close the data directory; frames after this get no answer."""
        self._frames.close()
        with self._lock:
            self._refusal_log.flush()
            self.data.close()

    def handle(self, frame, reply, origin=None):
        """One frame from a link, answered through reply() once the transaction that recorded it committed (by the
        decider thread, before this returns).
        -> the answers (none when storage failed: the unit shows OFFLINE). origin: the (site, device) the medium
        itself names (an MQTT topic), or None."""
        if self._frames.in_decider():  # a reply() that sends another frame: decided here and now
            pending = Pending(frame, origin, reply)  # nobody waits for it: answered just below
            self._decide_locked([pending])
            for answer in pending.answers:
                reply(answer)
        else:
            pending = self._frames.put(frame, origin, reply, waits=True)
            if pending is None:
                return []
            pending.done.wait()  # answered by the decider, in counter order with every other answer and push
        return pending.answers

    def submit(self, frame, reply, origin=None):
        """As handle(), without waiting: reply() is called from the decider thread after the COMMIT, in the order
        the frames came. For a link with one reader thread (MQTT), so that frames queue up while one batch commits."""
        self._frames.put(frame, origin, reply)

    def wait_idle(self, timeout=None):
        """Wait until every frame taken so far is decided and its answers released. -> False on timeout."""
        return self._frames.wait_idle(timeout)

    def held(self):
        """A context in which the decider takes no frame: those submitted inside are decided as one batch after it
        (tests and bench/decide.py make batches of a known size with it)."""
        return self._frames.held()

    def _decide_locked(self, batch):
        with self._lock:
            self._decide_batch(batch)

    def _decide_batch(self, batch):
        """Every frame of the batch in one write transaction; their answers only once it committed."""
        store = self.data.store
        self.stats["batches"] += 1
        try:
            with store.write():
                for pending in batch:
                    pending.answers = self._handle_one(pending)
                    if store.doomed is not None:
                        raise store.doomed
        except sqlite3.Error as e:
            # Disk full, read-only, damaged, COMMIT refused: nothing is answered, so the units show OFFLINE (never
            # admit) and keep their scans queued until storage works again. Said once per batch, plainly.
            self.stats["storage_failed"] += len(batch)
            log.error("storage failed (%s): %d frame(s) unanswered; refusing until it works again", e, len(batch))
            for pending in batch:
                pending.answers = []
        except Exception:  # the transaction itself (BEGIN, COMMIT) failed in an unexpected way: answer nothing
            self.stats["crashed"] += len(batch)
            log.exception("batch dropped: unexpected error")
            for pending in batch:
                pending.answers = []

    def _handle_one(self, pending):
        try:
            return self._handle(pending.frame, pending.reply, pending.origin)
        except sqlite3.Error:
            raise
        except Exception:  # a bug on hostile input must drop that frame, never stop the others or the link
            self.stats["crashed"] += 1
            log.exception("frame dropped: unexpected error")
            return []

    # -- the steps of one frame

    def push_opens(self):
        """Send the door opens due to units this worker has heard (checkin/door_opens.py: each claimed so that one
        worker sends it; late ones dropped): a VERDICT GREEN/guard_confirmed for the scan that showed the HOLD, on the
        unit's session, through the link that last heard it. Called every door_opens.PUSH_EVERY_S (server.py).
        Between batches only: a unit takes frames in counter order, so a push numbered after a batch's answers must
        not reach the unit before them (the answer would be refused as a replay). -> the number sent."""
        sent = 0
        with self._frames.between_batches(), self._lock:
            try:
                for due in door_opens.claim(self.data.store, self._replies, self.clock()):
                    session = self._session(due.device)
                    if session is None:  # revoked since: nothing is sent to it
                        continue
                    verdict = p.Verdict(due.scan, GREEN, R_GUARD_CONFIRMED, min(due.occupancy, 0xFFFF),
                                        min(due.capacity, 0xFFFF), _text(due.shown))
                    if self._push(self._replies[due.device], session.send(verdict), due):
                        sent += 1
                    else:
                        door_opens.not_sent(self.data.store, due.hold)
            except sqlite3.Error as e:  # tried again at the next look, until the open's deadline
                self.stats["storage_failed"] += 1
                log.error("storage failed (%s): door opens wait until it works again", e)
        return sent

    def _push(self, reply, frame, due):
        try:
            ok = reply(frame, now=True)  # now: never queued in the link for later (a late door lets anyone in)
        except Exception:  # a link gone meanwhile
            log.exception("%s: door open for scan %d not sent", due.device, due.scan)
            ok = False
        if ok:
            self.stats["door_opens"] += 1
            log.info("%s: guard's confirmation of scan %d sent (hold %d)", due.device, due.scan, due.hold)
        return ok

    def _handle(self, frame, reply, origin):
        try:
            header = p.read_header(frame)
        except p.ProtocolError as e:
            self._refuse("malformed", origin[1] if origin else None, e)  # the topic names whose login sent it
            return []
        device_id = header.device_id
        if origin is not None and origin[1] != device_id:
            self._refuse("wrong_topic", device_id, "frame of %s on %s's topic" % (device_id, origin[1]))
            return []
        session = self._session(device_id)
        if session is None:
            self._refuse("unknown_device", device_id, "no such device, or revoked")
            return []
        try:
            msg = session.receive(frame, header)
        except p.AuthError as e:
            if e.code == perr.E_REPLAY and session.counters.last == replay_window.DUPLICATE:
                return self._on_duplicate(session, header)
            if e.code == perr.E_REPLAY:
                self._refuse("replay", device_id, "counter %d" % header.counter)
            else:
                self._refuse("bad_tag", device_id, e)
            return []
        except p.DecodeError as e:  # authentic, its counter spent: answer what a newer peer may fall back from
            self._refuse("bad_message", device_id, e)
            if e.code in (perr.E_UNKNOWN_TYPE, perr.E_VERSION):
                return [session.send(p.Error(e.code, _text(e.message)))]
            return []
        self._replies[device_id] = reply  # authentic: this link reaches the unit now
        self.stats[p.type_name(header.msg_type)] += 1
        handler = self._HANDLERS.get(type(msg))
        return handler(self, session, msg) if handler else []

    def _session(self, device_id):
        row = self.data.store.cached("devices", device_id)
        if row is None or row["revoked"] is not None:
            self._sessions.pop(device_id, None)
            return None
        key = bytes(row["key"])
        cached = self._sessions.get(device_id)
        if cached is None or cached[0] != key:
            cached = (key, p.Session(device_id, key, p.HOST, RegistryCounters(self.data.store, device_id)))
            self._sessions[device_id] = cached
        return cached[1]

    def _on_duplicate(self, session, header):
        """An authentic frame whose counter the window has seen: a QoS 1 redelivery after a broker or worker restart
        (or a copy, or a replay of a recent frame). Dropped unanswered and counted, but not a security event: the
        frame was handled when it first came, and a unit that missed the answer sends its scan again in a new frame
        (same scan id), which gets the stored decision. Answering the copy itself would answer a replay."""
        self.stats["duplicate"] += 1
        log.debug("%s: duplicate frame %d dropped", session.device_id, header.counter)
        return []

    def _refuse(self, kind, device_id, detail):
        """A frame dropped unanswered: a security event, logged with ids only, at most once per device per minute
        with the number refused since (counted_log.py)."""
        self.stats["refused_" + kind] += 1
        self._refusal_log.note(device_id or "?", kind, detail)

    # -- one handler per message type

    def _on_hello(self, session, msg):
        """A unit repeats its HELLO until a CONFIG reaches it (either may be lost): every HELLO gets the same CONFIG
        and changes nothing but when the unit was last heard of, so a repeat is harmless."""
        self.data.store.touch_device(session.device_id, int(self.clock()), firmware=msg.firmware, board=msg.board)
        log.info("%s: hello, firmware %s on %s", session.device_id, msg.firmware, msg.board)
        return [session.send(self.config)]

    def _on_scan(self, session, msg):
        decision = self._decide(session.device_id, msg, self.clock(), queued=False)
        verdict = p.Verdict(
            msg.scan, decision.verdict, decision.reason, min(decision.occupancy or 0, 0xFFFF),
            min(decision.capacity or 0, 0xFFFF), _text(decision.referral),
        )
        if log.isEnabledFor(logging.INFO):  # the names are looked up only for a log that keeps them
            log.info("%s: scan %d -> %s (%s)", session.device_id, msg.scan, decision.verdict_name,
                     decision.reason_name)
        return [session.send(verdict)]

    def _on_queued(self, session, msg):
        at = self.clock() - msg.age_s
        decision = self._decide(session.device_id, msg, at, queued=True)
        if decision.reason == R_HOST_FAULT:
            return []  # not stored: no ACK, so the unit keeps it and replays it later
        log.info("%s: queued scan %d from %ds ago recorded as %s", session.device_id, msg.scan, msg.age_s,
                 decision.verdict_name)
        return [session.send(p.Ack(p.QUEUED, msg.scan))]

    def _on_heartbeat(self, session, msg):
        self.data.store.touch_device(session.device_id, int(self.clock()))
        if msg.errors or msg.dropped:
            log.warning("%s: %d errors (last %s), %d queued scans dropped", session.device_id, msg.errors,
                        msg.last_error or "-", msg.dropped)
        return []

    def _on_error(self, session, msg):
        log.warning("%s: unit reports error %d: %s", session.device_id, msg.code, msg.detail)
        return []

    def _on_ack(self, session, msg):
        return []

    _HANDLERS = {
        p.Hello: _on_hello,
        p.Scan: _on_scan,
        p.Queued: _on_queued,
        p.Heartbeat: _on_heartbeat,
        p.Error: _on_error,
        p.Ack: _on_ack,
    }

    def _decide(self, device_id, msg, at, queued):
        try:
            with self.data.store.savepoint():  # its writes undone alone if it fails, the batch's others kept
                return decide_scan(
                    self.data, msg.code, device=device_id, direction=msg.direction, at=at, scan_ref=msg.scan,
                    queued=queued,
                )
        except PintuError as e:  # e.g. the device's door was deleted: refuse, never admit
            log.error("%s: %s", device_id, e)
            return host_fault()
