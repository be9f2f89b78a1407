"""Helpers for the portable tests: plain asserts, runnable by pytest on CPython and by run.py on MicroPython."""

import json

import pintu_protocol as p
from pintu_protocol.messages import SCHEMAS

try:
    HERE = __file__.rsplit("/", 1)[0]
except NameError:  # pragma: no cover - MicroPython may leave __file__ unset
    HERE = "."

BY_NAME = {}
for _code, _schema in SCHEMAS.items():
    BY_NAME[_schema[1]] = _code


def load_vectors():
    with open(HERE + "/vectors.json") as f:
        return json.load(f)


def message_from_vector(vec):
    msg_type = BY_NAME[vec["type"]]
    cls, name, fields = SCHEMAS[msg_type]
    values = []
    for (kind, _bound), value in zip(fields, vec["fields"]):
        values.append(bytes.fromhex(value) if kind == "y" else value)
    return cls(*values)


def raises(exc_type, fn, *args):
    """Call fn(*args) and return the exception it raised; fail if it raised nothing or something else."""
    try:
        fn(*args)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %r" % (exc_type.__name__, fn))


class Lcg:
    """A tiny seeded generator, identical on both interpreters (no random module differences)."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next(self, bound):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return self.state % bound

    def bytes(self, n):
        return bytes(self.next(256) for _ in range(n))

    def text(self, n):
        return "".join(chr(0x20 + self.next(95)) for _ in range(n))


def pair(device_id="door-1", key=None):
    key = key or bytes(range(0x20, 0x40))
    return p.Session(device_id, key, p.UNIT), p.Session(device_id, key, p.HOST)


def random_message(rng):
    """One pseudo-random message of any type, every field within its bounds."""
    kind = rng.next(8)
    if kind == 0:
        return p.Hello(rng.text(rng.next(17)), rng.text(rng.next(33)), rng.bytes(rng.next(33)))
    if kind == 1:
        return p.Scan(rng.next(1 << 31), rng.text(rng.next(33)), rng.next(2), rng.bytes(rng.next(200)))
    if kind == 2:
        return p.Queued(rng.next(1 << 31), rng.next(1 << 31), rng.text(rng.next(33)), rng.next(2), rng.bytes(99))
    if kind == 3:
        return p.Heartbeat(
            rng.next(1 << 31), rng.next(65536), rng.next(65536), rng.next(65536), rng.next(1 << 31),
            rng.text(rng.next(33)),
        )
    if kind == 4:
        return p.Verdict(
            rng.next(1 << 31), rng.next(256), rng.next(256), rng.next(65536), rng.next(65536), rng.text(rng.next(65))
        )
    if kind == 5:
        return p.Config(
            rng.next(65536), rng.next(65536), rng.next(65536), rng.next(65536), rng.next(65536), rng.next(2)
        )
    if kind == 6:
        return p.Ack(rng.next(256), rng.next(1 << 31))
    return p.Error(rng.next(256), rng.text(rng.next(65)))


def sender_for(msg, unit, host):
    """(sender, receiver) for msg: the unit for unit-to-host types, else the host."""
    from pintu_protocol.session import SENDS

    return (unit, host) if p.messages.TYPE_OF[type(msg)] in SENDS[p.UNIT] else (host, unit)


def dump_frames(count, seed=2021):
    """Hex of the stream encoding of `count` pseudo-random messages: compared across interpreters."""
    unit, host = pair()
    rng = Lcg(seed)
    lines = []
    for _ in range(count):
        msg = random_message(rng)
        sender, _ = sender_for(msg, unit, host)
        lines.append(p.encode_stream(sender.send(msg)).hex())
    return lines
