"""Message types, their fields, and the body encoding: logic as data, one schema per type."""

import struct
from collections import namedtuple

from .errors import E_TRUNCATED, DecodeError, LocalProtocolError

# Limits a peer controls, checked before anything is buffered or allocated:
MAX_CODE = 1200  # the longest QR text carried; real EU DCC (HC1) codes run 480-1,100 characters
MAX_TEXT = 64  # door names, firmware versions, referral text, error detail: printable ASCII only
MAX_DIGEST = 32

# Type numbers: 0x01-0x0F go unit -> host, 0x10-0x1F host -> unit, 0x20- either way.
HELLO = 0x01
SCAN = 0x02
QUEUED = 0x03
HEARTBEAT = 0x04
VERDICT = 0x10
CONFIG = 0x11
ACK = 0x20
ERROR = 0x21

Hello = namedtuple("Hello", ("firmware", "board", "config_digest"))
Scan = namedtuple("Scan", ("scan", "door", "direction", "code"))
Queued = namedtuple("Queued", ("scan", "age_s", "door", "direction", "code"))
Heartbeat = namedtuple("Heartbeat", ("uptime_s", "queued", "dropped", "errors", "free_mem", "last_error"))
Verdict = namedtuple("Verdict", ("scan", "verdict", "reason", "occupancy", "capacity", "referral"))
Config = namedtuple(
    "Config", ("verdict_timeout_ms", "feedback_ms", "relay_ms", "repeat_ms", "heartbeat_s", "offline_queue")
)
Ack = namedtuple("Ack", ("acked_type", "ref"))
Error = namedtuple("Error", ("code", "detail"))

IN = 0  # direction of a scan: entering
OUT = 1  # leaving

# Field kinds: B/H/I unsigned 8/16/32-bit big-endian, t text (u8 length, printable ASCII), y bytes (u16 length).
# A field is (kind, bound): the largest value for B/H/I, the longest length for t/y. Field names come from the
# class, in order. The fields several messages share are one tuple each (fewer objects on a door unit's heap).
_U8 = ("B", 0xFF)
_U16 = ("H", 0xFFFF)
_U32 = ("I", 0xFFFFFFFF)
_DIRECTION = ("B", OUT)
_TEXT32 = ("t", 32)
_CODE = ("y", MAX_CODE)
_TEXT64 = ("t", MAX_TEXT)
# type: (class, name, fields)
SCHEMAS = {
    HELLO: (Hello, "HELLO", (("t", 16), _TEXT32, ("y", MAX_DIGEST))),
    SCAN: (Scan, "SCAN", (_U32, _TEXT32, _DIRECTION, _CODE)),
    QUEUED: (Queued, "QUEUED", (_U32, _U32, _TEXT32, _DIRECTION, _CODE)),
    HEARTBEAT: (Heartbeat, "HEARTBEAT", (_U32, _U16, _U16, _U16, _U32, _TEXT32)),
    VERDICT: (Verdict, "VERDICT", (_U32, _U8, _U8, _U16, _U16, _TEXT64)),
    CONFIG: (Config, "CONFIG", (_U16, _U16, _U16, _U16, _U16, ("B", 1))),
    ACK: (Ack, "ACK", (_U8, _U32)),
    ERROR: (Error, "ERROR", (_U8, _TEXT64)),
}

TYPE_OF = {}
for _code, _schema in SCHEMAS.items():
    TYPE_OF[_schema[0]] = _code

_INT_FORMATS = {"B": ">B", "H": ">H", "I": ">I"}
_INT_SIZES = {"B": 1, "H": 2, "I": 4}
_LEN_FORMATS = {"t": ">B", "y": ">H"}


def type_name(msg_type):
    schema = SCHEMAS.get(msg_type)
    return schema[1] if schema else "0x%02x" % msg_type


def is_text(data):
    for b in data:
        if b < 0x20 or b > 0x7E:
            return False
    return True


def encode_body(msg):
    msg_type = TYPE_OF.get(type(msg))
    if msg_type is None:
        raise LocalProtocolError("not a protocol message: %r" % (msg,))
    cls, name, fields = SCHEMAS[msg_type]
    out = []
    for i, (kind, bound) in enumerate(fields):
        value = msg[i]
        if kind in _INT_FORMATS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > bound:
                raise LocalProtocolError("%s field %d out of range: %r" % (name, i, value))
            out.append(struct.pack(_INT_FORMATS[kind], value))
            continue
        if kind == "t":
            if not isinstance(value, str):
                raise LocalProtocolError("%s field %d must be text" % (name, i))
            value = value.encode()
            if not is_text(value):
                raise LocalProtocolError("%s field %d must be printable ASCII" % (name, i))
        elif not isinstance(value, (bytes, bytearray)):
            raise LocalProtocolError("%s field %d must be bytes" % (name, i))
        if len(value) > bound:
            raise LocalProtocolError("%s field %d longer than %d bytes" % (name, i, bound))
        out.append(struct.pack(_LEN_FORMATS[kind], len(value)))
        out.append(bytes(value))
    return msg_type, b"".join(out)


def decode_body(msg_type, data, start=0, end=None):
    """Decode the body in data[start:end]. Bytes after the last known field are ignored: that is how a
    newer peer adds fields without breaking an older one (see protocol/README.md)."""
    cls, name, fields = SCHEMAS[msg_type]
    if end is None:
        end = len(data)
    pos = start
    values = []
    for kind, bound in fields:
        if kind in _INT_FORMATS:
            size = _INT_SIZES[kind]
            if pos + size > end:
                raise DecodeError("%s truncated" % name, E_TRUNCATED)
            value = struct.unpack_from(_INT_FORMATS[kind], data, pos)[0]
            if value > bound:
                raise DecodeError("%s field out of range: %d" % (name, value))
            pos += size
            values.append(value)
            continue
        size = 1 if kind == "t" else 2
        if pos + size > end:
            raise DecodeError("%s truncated" % name, E_TRUNCATED)
        length = struct.unpack_from(_LEN_FORMATS[kind], data, pos)[0]
        pos += size
        if length > bound:
            raise DecodeError("%s field longer than %d bytes" % (name, bound))
        if pos + length > end:
            raise DecodeError("%s truncated" % name, E_TRUNCATED)
        value = bytes(data[pos : pos + length])
        pos += length
        if kind == "t":
            if not is_text(value):
                raise DecodeError("%s text field not printable ASCII" % name)
            value = value.decode()
        values.append(value)
    return cls(*values)
