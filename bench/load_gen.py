"""The load generator of bench/end_to_end.py: simulated door units in worker processes, and the baseline's echo
responder, both on a minimal MQTT 3.1.1 client with batched, non-blocking socket I/O.

Why not paho here: paho takes a lock, a callback and a socket write per message, so on a 2-core machine a paho
generator ate the CPU the broker and the host needed and became the bottleneck it was meant to measure (issue 17).
This client speaks only what the bench needs (CONNECT, SUBSCRIBE, PUBLISH and PUBACK at QoS 1) and writes every
packet ready at one moment in one send(). The units themselves are real: each is a pintu_protocol Session under the
unit's own key, sending authenticated SCAN frames on its own up topic and authenticating the VERDICT."""

import select
import selectors
import socket
import struct
import time

import pintu_protocol as p
from pintu_protocol.topics import DOWN, UP, down_topic, every, parse_topic, shared, up_topic
from pintu_protocol.verdicts import reason_name, verdict_name

PUBLISH, CONNACK, PUBACK, SUBACK = 3, 2, 4, 9
SUBSCRIBE_BYTES = 3000  # the broker's max_packet_size is 4096: the unit topics are subscribed in chunks below it
RECV_BYTES = 1 << 18


def _varint(n):
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(raw):
    return struct.pack("!H", len(raw)) + raw


def _packet(first, body):
    return bytes([first]) + _varint(len(body)) + body


class Wire:
    """One MQTT connection to the broker on 127.0.0.1:port, logged in as user (the broker makes the login the
    client id). poll() waits for packets, answers PUBACKs for QoS 1 messages and hands back (topic, payload).
    dirty: a set this wire adds itself to whenever it has bytes to send (Wires flushes only those)."""

    def __init__(self, port, user, password, timeout=10.0, dirty=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        user = user.encode()
        # Clean session, user name and password; keepalive 0: a run is short and the connection is never idle long.
        body = _string(b"MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 0) + _string(user) + _string(user)
        self.sock.sendall(_packet(0x10, body + _string(password.encode())))
        self.inbuf = bytearray()
        self.out = bytearray()
        self.dirty = dirty
        self.connected = False
        self.packet_id = 0
        self.acks = 0  # SUBACKs received
        self.sock.setblocking(False)
        deadline = time.monotonic() + timeout
        while not self.connected:
            if time.monotonic() > deadline:
                raise TimeoutError("no CONNACK from the broker for %s" % user.decode())
            self.poll(0.1)

    def close(self):
        try:
            self.sock.setblocking(True)
            self.flush()
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        except OSError:
            pass
        self.sock.close()

    def _next_id(self):
        self.packet_id = self.packet_id % 0xFFFF + 1
        return self.packet_id

    def publish(self, topic, payload):
        """Queue a QoS 1 PUBLISH (topic: bytes); it leaves at the next flush() or poll()."""
        body = _string(topic) + struct.pack("!H", self._next_id()) + payload
        self._queue(b"\x32" + _varint(len(body)) + body)

    def _queue(self, data):
        self.out += data
        if self.dirty is not None:
            self.dirty.add(self)

    def subscribe(self, filters, timeout=10.0):
        """Subscribe to every filter at QoS 1, in packets under the broker's size limit; wait for every SUBACK."""
        chunks, chunk = [], []
        for f in filters:
            chunk.append(_string(f.encode()) + b"\x01")
            if sum(len(c) for c in chunk) > SUBSCRIBE_BYTES:
                chunks.append(chunk)
                chunk = []
        if chunk:
            chunks.append(chunk)
        wanted = self.acks + len(chunks)
        for chunk in chunks:
            self._queue(_packet(0x82, struct.pack("!H", self._next_id()) + b"".join(chunk)))
        deadline = time.monotonic() + timeout
        while self.acks < wanted:
            if time.monotonic() > deadline:
                raise TimeoutError("the broker did not acknowledge the subscriptions")
            self.poll(0.1)

    def flush(self):
        while self.out:
            try:
                sent = self.sock.send(self.out)
            except BlockingIOError:
                return
            del self.out[:sent]

    def poll(self, timeout):
        """Send what is queued, wait up to timeout for bytes; -> [(topic bytes, payload bytes)] of the PUBLISHes."""
        self.flush()
        readable, writable, _ = select.select([self.sock], [self.sock] if self.out else [], [], max(0.0, timeout))
        if writable:
            self.flush()
        return self.read() if readable else []

    def read(self):
        """What the socket holds now (it is non-blocking): -> [(topic bytes, payload bytes)] of the PUBLISHes."""
        try:
            data = self.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return []
        if not data:
            raise ConnectionError("the broker closed the connection")
        self.inbuf += data
        return self._parse()

    def _parse(self):
        buf, pos, end, messages = self.inbuf, 0, len(self.inbuf), []
        while pos + 2 <= end:
            length, shift, i = 0, 0, pos + 1
            while i < end and buf[i] & 0x80:
                length |= (buf[i] & 0x7F) << shift
                shift += 7
                i += 1
            if i >= end:
                break
            length |= buf[i] << shift
            start = i + 1
            if start + length > end:
                break
            first = buf[pos]
            kind = first >> 4
            if kind == PUBLISH:
                n = (buf[start] << 8) | buf[start + 1]
                topic = bytes(buf[start + 2:start + 2 + n])
                at = start + 2 + n
                if first & 0x06:  # QoS 1: acknowledge it, or the broker stops sending after its in-flight window
                    self._queue(b"\x40\x02" + bytes(buf[at:at + 2]))
                    at += 2
                messages.append((topic, bytes(buf[at:start + length])))
            elif kind == SUBACK:
                self.acks += 1
            elif kind == CONNACK:
                if buf[start + 1] != 0:
                    raise ConnectionRefusedError("the broker refused the login (code %d)" % buf[start + 1])
                self.connected = True
            pos = start + length
        del buf[:pos]
        return messages


class Wires:
    """Several connections waited on together (one per simulated unit with --unit-logins): poll() sends what any of
    them has queued, then reads those with bytes to read."""

    def __init__(self):
        self.dirty = set()
        self.selector = selectors.DefaultSelector()

    def connect(self, port, user, password):
        wire = Wire(port, user, password, dirty=self.dirty)
        self.selector.register(wire.sock, selectors.EVENT_READ, wire)
        return wire

    def poll(self, timeout):
        for wire in list(self.dirty):
            wire.flush()
            if not wire.out:
                self.dirty.discard(wire)
        if self.dirty:  # a full socket buffer: come back soon rather than wait for writability
            timeout = min(timeout, 0.001)
        messages = []
        for key, _ in self.selector.select(max(0.0, timeout)):
            messages += key.data.read()
        return messages

    def close(self):
        for key in list(self.selector.get_map().values()):
            key.data.close()
        self.selector.close()


class SeenCounters:
    """A simulated unit's counter store that accepts each host counter once, in any order: in the open loop a unit
    may have several scans in flight and several workers answer them, so verdicts can overtake each other (the
    firmware keeps one scan in flight and never sees that)."""

    def __init__(self):
        self.tx = 0
        self.seen = set()

    def next_tx(self):
        self.tx += 1
        return self.tx

    def accept_rx(self, n):
        if n in self.seen:
            return False
        self.seen.add(n)
        return True


def run_units(port, login, units, plan, ready, go, start_at, results):
    """One generator process. units: [(index, device_id, key hex, site, code bytes, (broker user, password))].
    plan: mode ("closed" or "open"), rate, total_units, seconds, quiet_s, drain_s, echo, and unit_logins (each unit
    on a connection of its own under its own login, as real units are, rather than all on this process's login).
    Says its login on ready once subscribed; starts at start_at (time.monotonic(): one clock for every process on
    Linux) once go is set; puts one dict on results."""
    wires = Wires()
    sessions, topics, codes, wire_of = {}, {}, {}, {}
    shared_wire = None if plan["unit_logins"] else wires.connect(port, login, "bench")
    for _, device, key, site, code, unit_login in units:
        sessions[device] = p.Session(device, bytes.fromhex(key), p.UNIT, SeenCounters())
        topics[device] = up_topic(site, device).encode()
        codes[device] = code
        wire_of[device] = shared_wire or wires.connect(port, *unit_login)
        if shared_wire is None:
            wire_of[device].subscribe([down_topic(site, device)])
    if shared_wire is not None:
        shared_wire.subscribe([down_topic(site, device) for _, device, _, site, _, _ in units])
    by_index = {unit[0]: unit[1] for unit in units}
    ready.put(login)
    go.wait()
    start = start_at.value
    end = start + plan["seconds"]
    scan_no = dict.fromkeys(sessions, 0)
    pending = {}  # (device, scan) -> the time the scan was due: latency counts any wait, the generator's too
    done = []  # (answered at, latency)
    lag = []  # how late each scan left against its schedule: a late generator shows here
    refused = sent = strays = 0
    verdicts = {}  # verdict name -> how many

    def send(device, due):
        nonlocal sent
        scan_no[device] += 1
        n = scan_no[device]
        # Each unit's own person walks in and out in turn: every decision opens or closes a visit (an IN for someone
        # already inside would be refused early, a shorter path than a real door's).
        frame = sessions[device].send(p.Scan(n, "lobby", p.IN if n % 2 else p.OUT, codes[device]))
        wire_of[device].publish(topics[device], frame)
        pending[(device, n)] = due
        lag.append(time.monotonic() - due)
        sent += 1

    while time.monotonic() < start:
        time.sleep(min(0.01, max(0.0, start - time.monotonic())))
    closed = plan["mode"] == "closed"
    if closed:
        for device in sessions:
            send(device, start)
        next_due = None
    else:
        rate, total, k = plan["rate"], plan["total_units"], 0
        next_due = start
    while True:
        now = time.monotonic()
        if not closed:
            # Scan k of the whole run is due at start + k/rate, at unit k mod units: a fixed schedule, whatever
            # the answers do. This process sends those of its own units.
            while next_due is not None and next_due <= now:
                device = by_index.get(k % total)
                if device is not None:
                    send(device, next_due)
                k += 1
                next_due = start + k / rate
                if next_due >= end:
                    next_due = None
        # After the window, wait for what is still in flight while answers keep coming: a late verdict is counted
        # (and its latency in the open loop), a lost one is not waited for beyond quiet_s without any answer.
        last = done[-1][0] if done else start
        if now >= end and (not pending or now - max(end, last) >= plan["quiet_s"] or now >= end + plan["drain_s"]):
            break
        wait = 0.05 if next_due is None else next_due - time.monotonic()
        for topic, payload in wires.poll(min(0.05, wait)):
            at = time.monotonic()
            device = parse_topic(topic.decode(), (DOWN,))[1]
            try:
                if plan["echo"]:  # our own SCAN came back: its counter is its scan number (a unit sends only scans)
                    scan = p.read_header(payload).counter
                else:
                    msg = sessions[device].receive(payload)
                    scan = msg.scan
                    name = "%s/%s" % (verdict_name(msg.verdict), reason_name(msg.reason))
                    verdicts[name] = verdicts.get(name, 0) + 1
            except p.ProtocolError:
                refused += 1
                continue
            due = pending.pop((device, scan), None)
            if due is None:
                strays += 1
                continue
            done.append((at, at - due))
            if closed and at < end:
                send(device, at)
    wires.close()
    results.put({"login": login, "sent": sent, "answered": len(done), "unanswered": len(pending), "refused": refused,
                 "strays": strays, "verdicts": verdicts, "done": done, "lag": lag, "start": start, "end": end})


def echo(port, login, password, ready, stop):
    """The baseline's responder: every up frame straight back on its unit's down topic. No decision, no database."""
    wire = Wire(port, login, password)
    wire.subscribe([shared(every(UP))])
    ready.put(login)
    while not stop.is_set():
        for topic, payload in wire.poll(0.05):
            site, device, _ = parse_topic(topic.decode(), (UP,))
            wire.publish(down_topic(site, device).encode(), payload)
    wire.close()
