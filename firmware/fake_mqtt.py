"""Fakes of an MQTT unit's network for tests and the host's simulator: an in-process broker with retained messages,
last wills and outages, the umqtt.simple calls the MQTT link makes, and Wi-Fi. Not deployed (deploy's TEST_ONLY).

No mocks: plain objects that run under MicroPython as well as CPython."""


class FakeBroker:
    """An in-process MQTT broker for umqtt-like FakeMqttClients: retained messages, last wills, outages."""

    def __init__(self):
        self.up = True
        self.retained = {}
        self.published = []  # (topic, msg, retain, qos) from clients
        self.subscriptions = []  # (client, topic) in order, including resubscriptions
        self.clients = []

    def publish(self, topic, msg, retain=False, qos=0):
        self.published.append((topic, bytes(msg), retain, qos))
        if retain:
            self.retained[topic] = bytes(msg)
        for client, sub in self.subscriptions:
            if sub == topic and client.alive:
                client.inbox.append((topic, bytes(msg)))

    def drop(self):
        """Network or broker gone: every client's socket dies, their last wills are published."""
        self.up = False
        for client in self.clients:
            if client.alive:
                client.alive = False
                if client.will:
                    topic, msg, retain, _qos = client.will
                    if retain:
                        self.retained[topic] = msg
        self.clients = []
        self.subscriptions = []

    def restore(self):
        self.up = True


class _Sock:
    def __init__(self, client):
        self._client = client

    def close(self):
        self._client.alive = False


class FakeMqttClient:
    """The umqtt.simple calls MqttLink makes, against a FakeBroker."""

    def __init__(self, broker, client_id, keepalive=60):
        self.broker = broker
        self.client_id = client_id
        self.keepalive = keepalive
        self.cb = None
        self.will = None
        self.alive = False
        self.inbox = []
        self.pings = 0
        self.sock = _Sock(self)

    def _check(self):
        if not (self.alive and self.broker.up):
            raise OSError(104)

    def set_callback(self, cb):
        self.cb = cb

    def set_last_will(self, topic, msg, retain=False, qos=0):
        self.will = (topic, msg, retain, qos)

    def connect(self, clean_session=True):
        if not self.broker.up:
            raise OSError(113)
        self.alive = True
        self.broker.clients.append(self)
        return 0

    def publish(self, topic, msg, retain=False, qos=0):
        self._check()
        self.broker.publish(topic, msg, retain, qos)

    def subscribe(self, topic, qos=0):
        self._check()
        self.broker.subscriptions.append((self, topic))

    def check_msg(self):
        self._check()
        if self.inbox:
            topic, msg = self.inbox.pop(0)
            self.cb(topic, msg)
        return None

    def ping(self):
        self._check()
        self.pings += 1

    def disconnect(self):
        self.alive = False


class FakeWifi:
    def __init__(self):
        self.up = True

    def connect(self):
        pass

    def isconnected(self):
        return self.up


# -- the real umqtt.simple on fakes: an MQTT broker's side of one connection, as bytes -------------------------------

_ETIMEDOUT = 110
_FOREVER_MS = 600000


class WireBroker:
    """Stands in for the usocket module under the real umqtt.simple (umqtt_on_wire): each socket() is a connection
    to this broker, which answers CONNECT, PUBLISH QoS 1, SUBSCRIBE and PINGREQ as MQTT 3.1.1 says. A QoS 1 PUBLISH
    with packet id 0 is a protocol error: the connection is closed, as Mosquitto does. hang=True: the broker accepted
    the connection and answers nothing more; a read then waits out the socket's timeout on the fake clock and raises
    OSError(ETIMEDOUT), as a board's socket does; one with no timeout counts in blocked_for_ever and lets ten minutes
    of fake time pass first."""

    IPPROTO_TCP = 6
    TCP_NODELAY = 1

    def __init__(self, clock=None):
        self.clock = clock
        self.hang = False
        self.pids = []  # packet ids of the QoS 1 publishes received, in order
        self.published = []  # (topic, msg)
        self.nodelay = False
        self.closed_for_pid0 = 0
        self.blocked_for_ever = 0  # reads made with no timeout that found nothing
        self.sockets = []

    def socket(self):
        sock = _WireSocket(self)
        self.sockets.append(sock)
        return sock

    def getaddrinfo(self, host, port):
        return [(2, 1, 0, "", (host, port))]


class _WireSocket:
    def __init__(self, broker):
        self._broker = broker
        self.timeout = None
        self._blocking = True
        self._in = bytearray()  # bytes the client wrote, not yet a whole packet
        self._out = bytearray()  # the broker's answers, not yet read
        self.open = True

    def settimeout(self, seconds):
        self.timeout = seconds
        self._blocking = True

    def setblocking(self, flag):
        self._blocking = flag
        if flag:
            self.timeout = None  # as the ESP32 port does: setblocking(True) clears a timeout

    def setsockopt(self, level, option, value):
        if level == WireBroker.IPPROTO_TCP and option == WireBroker.TCP_NODELAY:
            self._broker.nodelay = bool(value)

    def connect(self, addr):
        if not self._blocking or self.timeout is None:
            pass  # a real connect to a broker that accepts returns at once either way

    def close(self):
        self.open = False

    def write(self, data, length=None):
        if not self.open:
            raise OSError(104)
        if isinstance(data, str):
            data = data.encode()
        data = bytes(data) if length is None else bytes(data)[:length]
        self._in.extend(data)
        self._packets()
        return len(data)

    def read(self, n):
        if len(self._out) >= n or (self._out and not self._blocking):
            out = bytes(self._out[:n])
            self._out = self._out[n:]
            return out
        if not self.open:
            return b""
        if not self._blocking:
            return None
        # No timeout: a board would wait here for ever; the fake lets 10 minutes pass (past any watchdog) and says so.
        wait_ms = _FOREVER_MS if self.timeout is None else int(self.timeout * 1000)
        if self.timeout is None:
            self._broker.blocked_for_ever += 1
        if self._broker.clock is not None:
            self._broker.clock.advance(wait_ms)
        raise OSError(_ETIMEDOUT)

    def _packets(self):
        while len(self._in) >= 2:
            size, shift, i = 0, 0, 1
            while True:
                if i >= len(self._in):
                    return
                b = self._in[i]
                size |= (b & 0x7F) << shift
                shift += 7
                i += 1
                if not b & 0x80:
                    break
            if len(self._in) < i + size:
                return
            kind, body = self._in[0], bytes(self._in[i : i + size])
            self._in = self._in[i + size :]
            self._handle(kind, body)

    def _handle(self, kind, body):
        broker = self._broker
        if broker.hang:
            return
        if kind == 0x10:  # CONNECT
            self._out.extend(b"\x20\x02\x00\x00")
        elif kind & 0xF0 == 0x30:  # PUBLISH
            tlen = body[0] << 8 | body[1]
            topic, rest = body[2 : 2 + tlen], body[2 + tlen :]
            if kind & 6:
                pid = rest[0] << 8 | rest[1]
                broker.pids.append(pid)
                if pid == 0:
                    broker.closed_for_pid0 += 1
                    self.open = False
                    return
                rest = rest[2:]
                self._out.extend(bytes((0x40, 2, pid >> 8, pid & 0xFF)))
            broker.published.append((topic, rest))
        elif kind == 0x82:  # SUBSCRIBE
            self._out.extend(bytes((0x90, 3, body[0], body[1], 1)))
        elif kind == 0xC0:  # PINGREQ
            self._out.extend(b"\xd0\x00")


def umqtt_on_wire(wire):
    """umqtt.simple (the vendored copy) with wire in place of its usocket module. -> (the module, restore()): call
    restore() when done, so the simulator's real sockets are what later users of the module get."""
    import sys

    saved = sys.modules.get("usocket")
    sys.modules["usocket"] = wire
    for alias, real in (("ustruct", "struct"), ("ubinascii", "binascii")):
        if alias not in sys.modules:
            try:
                __import__(alias)
            except ImportError:  # CPython: MicroPython's u-names are the plain modules
                sys.modules[alias] = __import__(real)
    try:
        from umqtt import simple
    finally:
        if saved is None:
            sys.modules.pop("usocket", None)
        else:
            sys.modules["usocket"] = saved
    before = simple.socket
    simple.socket = wire

    def restore():
        if before is wire:  # imported here, bound to wire: the next import must bind the real usocket
            sys.modules.pop("umqtt.simple", None)
        else:
            simple.socket = before

    return simple, restore
