"""The door unit's state machine: code read -> SCAN sent -> waiting for the VERDICT (timeout) -> feedback -> idle.

Around it: HELLO when the link comes up, repeated with backoff until the host's CONFIG comes (a HELLO can be lost,
and the host sends CONFIG only in answer to one), HEARTBEAT, and the offline queue replayed as QUEUED.
The unit never decides: no verdict in time (or no link) is OFFLINE, which never admits. Scan ids are drawn from the
unit's counter store (firmware/counter.py says why that space), so they never repeat across reboots; a resend of an
unanswered SCAN is a new frame carrying the same scan id, and the host answers it idempotently.

A scan is on flash (queue.hold) before its SCAN leaves the unit, and leaves it only once its verdict is shown or it
is queued: a reset at any moment leaves it to be replayed as QUEUED, so the host can undo an admission that nobody
saw. A queued scan carries the time its code was read."""

import hashlib

import pintu_protocol as p
from firmware import VERSION
from firmware.clock import const, ticks_diff
from firmware.queue import Record
from pintu_protocol import verdicts

# The app's states (App.state), named for whoever watches a unit (the simulator, tests): compare with these.
IDLE = const(0)
WAITING = const(1)  # a SCAN is out, its VERDICT not yet in
FEEDBACK = const(2)  # a pattern is playing; codes read now are dropped
_REPLAY_BACKOFF_MIN_MS = const(2000)
_REPLAY_BACKOFF_MAX_MS = const(60000)
_HELLO_BACKOFF_MIN_MS = const(2000)
_HELLO_BACKOFF_MAX_MS = const(60000)
_U16 = const(0xFFFF)
# How long after showing a HOLD the unit still opens the door for a guard's confirmation of it pushed by the host: the
# longest hold a site can set (30 min). The host's rule is shorter (checkin/door_opens.py: 15 s after the
# confirmation, never after the hold's end); this bound only stops a frame delayed beyond any hold from opening.
_HELD_MS = const(1800000)
_CONFIG_FIELDS = ("verdict_timeout_ms", "feedback_ms", "relay_ms", "repeat_ms", "heartbeat_s", "offline_queue")


def _short(text, n=32):
    out = []
    for c in text[:n]:
        out.append(c if " " <= c <= "~" else "?")
    return "".join(out)


class App:
    def __init__(self, settings, scanner, feedback, link, clock, queue, counters, board_name="",
                 config_digest=b"", mem_free=None):
        self.settings = settings
        self.scanner = scanner
        self.feedback = feedback
        self.link = link
        self.queue = queue
        self.counters = counters
        self._clock = clock
        self._hello = p.Hello(VERSION, board_name, config_digest)  # said again each time the link comes up
        self._mem_free = mem_free
        self.session = p.Session(settings["device_id"], settings["key"], p.UNIT, counters)
        self.state = IDLE
        now = clock.ticks_ms()
        self._last_step = now
        self.uptime_ms = 0  # accumulated: ticks wrap after ~12 days
        self._pending = None  # [queue.Record, first sent at, resent]
        self._last_digest = None  # SHA-256 of the last code read: a code is up to 1,200 bytes of heap, its digest 32
        self._last_code_at = now
        self._inflight = None  # [scan id, sent at] of a QUEUED replay
        self._replay_wait = 0
        self._replay_from = now
        self._was_up = False
        self._hello_at = now
        self._hello_wait = 0  # the next HELLO repeat after this many ms; 0: the host's CONFIG came
        self._last_heartbeat = now
        self.errors = 0
        self.last_error = ""
        self.last_verdict = None
        self._held = None  # [scan id, shown at] of the last HOLD shown: the one scan a confirmation may open for
        self.display = None  # a board's display (firmware/display.py), or None
        # The owner's window on what a visitor is shown (the simulator, tests; None on a board): on_shown(scan id,
        # verdict code), once per scan shown, a host verdict or OFFLINE (its pattern: verdicts.verdict_pattern).
        self.on_shown = None
        self.counts = {"scans": 0, "verdicts": 0, "offline": 0, "duplicates": 0, "busy": 0, "replayed": 0,
                       "rejected_frames": 0}

    # -- the main loop calls step(); main.py catches whatever it raises and calls record_error ------------------
    def step(self):
        now = self._clock.ticks_ms()
        self.uptime_ms += ticks_diff(now, self._last_step)
        self._last_step = now
        self.link.tick()
        up = self.link.connected
        if up and not self._was_up:
            self._on_link_up(now)
        self._was_up = up
        for frame in self.link.poll():
            self._on_frame(frame)
        # Timers before the scanner: an idle unit starts replaying a scan it showed as OFFLINE before it sends the
        # SCAN of a new code (see _on_code); with the host silent (replay backoff) the new SCAN goes at once.
        self._timers(now)
        self.scanner.tick()
        code = self.scanner.poll()
        if code is not None:
            self._on_code(code, now)
        self.feedback.tick()
        if self.state == FEEDBACK and not self.feedback.busy:
            self.state = IDLE
            if self.display is not None:
                self.display.idle()

    def record_error(self, error):
        self.errors += 1
        self.last_error = _short("%s %s" % (type(error).__name__, error))

    def close(self):
        self.feedback.stop()
        self.link.close()

    # -- sending ---------------------------------------------------------------------------------------------------
    def _send(self, msg):
        return self.link.send(self.session.send(msg))

    def _on_link_up(self, now):
        self._replay_wait = 0
        self._last_heartbeat = now
        self._hello_at = now
        self._hello_wait = _HELLO_BACKOFF_MIN_MS
        self._send(self._hello)

    # -- receiving -------------------------------------------------------------------------------------------------
    def _on_frame(self, frame):
        try:
            msg = self.session.receive(frame)
        except p.ProtocolError as e:  # forged, replayed, for another unit, malformed: never acted on
            self.counts["rejected_frames"] += 1
            self.record_error(e)
            return
        self._replay_wait = 0  # the host is there: replay without waiting
        kind = type(msg)
        if kind is p.Verdict:
            self._on_verdict(msg)
        elif kind is p.Ack:
            if msg.acked_type == p.QUEUED:
                self._settle(msg.ref)
        elif kind is p.Config:
            self._hello_wait = 0
            self._apply_config(msg)
            self._send(p.Ack(p.CONFIG, self.counters.rx))  # ref: the counter of the CONFIG just accepted
        elif kind is p.Error:
            self.last_error = _short("host error %d %s" % (msg.code, msg.detail))

    def _on_verdict(self, verdict):
        held = self._held
        answer = self.state == WAITING and verdict.scan == self._pending[0].scan  # the pending scan's verdict
        if answer:
            self._pending = None
            if verdict.verdict == verdicts.HOLD:
                self._held = [verdict.scan, self._clock.ticks_ms()]
        elif self._inflight is not None and verdict.scan == self._inflight[0]:
            self._replayed()  # an answer to the QUEUED replay in flight: recorded by the host, shown to nobody
            return
        elif (held and verdict.scan == held[0] and verdict.verdict == verdicts.GREEN and self.state != WAITING
              and ticks_diff(self._clock.ticks_ms(), held[1]) < _HELD_MS):
            # A guard confirmed the HOLD this unit showed from the CLI or the console (the host pushes it, issue 19):
            # the door opens once for it, then the scan is forgotten. Not while another scan waits for its verdict
            # (someone else stands at the scanner); the frame's tag says the host sent it (session).
            self._held = None
        else:
            # Any other unsolicited verdict is ignored. A late verdict for a scan already shown as OFFLINE settles
            # nothing: its record stays queued, so the QUEUED replay tells the host the door stayed shut and the host
            # undoes an admission nobody saw.
            return
        self.state = FEEDBACK
        self.last_verdict = verdict
        self.counts["verdicts"] += 1
        s = self.settings
        # Unknown codes get the refusal pattern and never the relay (verdicts.verdict_pattern / opens_door).
        self.feedback.verdict(verdict.verdict, s["feedback_ms"], s["relay_ms"])
        self._shown(verdict.scan, verdict.verdict, verdict)
        if answer:
            self.queue.release()  # shown: the host's record of it stands

    def _apply_config(self, msg):
        bounds = self.settings["bounds"]
        for name, value in zip(_CONFIG_FIELDS, msg):
            low, high = bounds[name]
            self.settings[name] = low if value < low else high if value > high else value

    # -- the scanner -------------------------------------------------------------------------------------------------
    def _on_code(self, code, now):
        digest = hashlib.sha256(code).digest()
        if digest == self._last_digest and ticks_diff(now, self._last_code_at) < self.settings["repeat_ms"]:
            self._last_code_at = now  # still held under the scanner: the window slides
            self.counts["duplicates"] += 1
            return
        if self.state != IDLE:
            self.counts["busy"] += 1
            return
        self._last_digest = digest
        self._last_code_at = now
        self.counts["scans"] += 1
        s = self.settings
        # A fresh scan id (firmware/counter.py), and the time the code was read, which a QUEUED replay reports.
        record = Record(self.counters.next_tx(), self._clock.time(), s["direction"], s["door"], code)
        if self.link.connected:
            try:
                self.queue.hold(record)  # on flash before the SCAN leaves: a reset now leaves it to replay
            except Exception as e:  # the flash cannot keep it: send nothing (OFFLINE below never admits)
                self.record_error(e)
            else:
                self._pending = [record, now, False]
                self.state = WAITING
                # A QUEUED replay in flight goes first: the SCAN leaves with the resend at half the timeout (the
                # replay is settled by then, or the host is not answering), so anti-passback never refuses the visitor
                # for an admission nobody saw (protocol/README.md, "Settling a scan the unit never showed").
                if self._inflight or self._send(self._scan(record)):
                    return
        self._offline(record)

    def _scan(self, record):
        return p.Scan(record.scan, record.door, record.direction, record.code)

    def _shown(self, scan_id, code, verdict=None):
        held = self._held
        if held and held[0] != scan_id:
            # Someone else's scan was shown since the HOLD (a RED, a BLACK, an OFFLINE...): a guard's confirmation
            # arriving now must not open the door while that visitor stands at it. The guard lets the held one in.
            self._held = None
        if self.display is not None:
            self.display.show(code, verdict)
        if self.on_shown is not None:
            self.on_shown(scan_id, code)

    def _offline(self, record):
        s = self.settings
        sent = self._pending is not None  # its SCAN may have reached the host, which may have admitted it
        self._pending = None
        self.state = FEEDBACK
        self.counts["offline"] += 1
        self.feedback.verdict(verdicts.OFFLINE, s["feedback_ms"])  # first: a full or failing flash must not hide it
        self._shown(record.scan, verdicts.OFFLINE)
        # A scan the host may have seen is always queued: its replay is what undoes an admission nobody saw.
        # offline_queue=0 only stops queuing scans that never left the unit.
        if s["offline_queue"] or sent:
            try:
                self.queue.append(record)
            except Exception as e:  # flash full or failing: the scan is lost, counted as dropped
                self.queue.dropped += 1
                self.record_error(e)
                return  # a held scan stays held: the next boot queues it
        self.queue.release()

    # -- timers ------------------------------------------------------------------------------------------------------
    def _timers(self, now):
        s = self.settings
        timeout = s["verdict_timeout_ms"]
        pending = self._pending
        if self.state == WAITING:
            age = ticks_diff(now, pending[1])
            if age >= timeout:
                self._offline(pending[0])
            elif not pending[2] and age >= timeout // 2 and self.link.connected:
                pending[2] = True  # one resend: a new frame, the same scan id
                self._send(self._scan(pending[0]))
        if self._inflight is not None and ticks_diff(now, self._inflight[1]) >= timeout:
            self._inflight = None
            self._replay_wait = min(_REPLAY_BACKOFF_MAX_MS, max(_REPLAY_BACKOFF_MIN_MS, self._replay_wait * 2))
            self._replay_from = now
        if (self.state == IDLE and self._inflight is None and len(self.queue) and self.link.connected
                and ticks_diff(now, self._replay_from) >= self._replay_wait):
            self._replay_next(now)
        if self._hello_wait and self.link.connected and ticks_diff(now, self._hello_at) >= self._hello_wait:
            self._hello_at = now  # no CONFIG yet: the HELLO (or its answer) was lost, or the host is not there yet
            self._hello_wait = min(_HELLO_BACKOFF_MAX_MS, self._hello_wait * 2)
            self._send(self._hello)
        if self.link.connected and ticks_diff(now, self._last_heartbeat) >= s["heartbeat_s"] * 1000:
            self._last_heartbeat = now
            self._send(self.heartbeat())

    def _replay_next(self, now):
        try:
            record = self.queue.peek()
            age = self._clock.time() - record.time_s
            msg = p.Queued(record.scan, age if age > 0 else 0, record.door, record.direction, record.code)
        except Exception as e:  # a record this firmware cannot send: drop it rather than block the queue
            self.queue.pop()
            self.queue.dropped += 1
            self.record_error(e)
            return
        self._inflight = [record.scan, now]
        self._send(msg)

    def _settle(self, scan_id):
        if self._inflight is not None and scan_id == self._inflight[0]:
            self._replayed()
        elif len(self.queue) and self.queue.peek().scan == scan_id:
            self._replayed()

    def _replayed(self):
        self.queue.pop()
        self._inflight = None
        self.counts["replayed"] += 1

    def heartbeat(self):
        free = self._mem_free() if self._mem_free else 0
        return p.Heartbeat(
            (self.uptime_ms // 1000) & 0xFFFFFFFF, min(len(self.queue), _U16), min(self.queue.dropped, _U16),
            min(self.errors, _U16), min(free, 0xFFFFFFFF), self.last_error,
        )
