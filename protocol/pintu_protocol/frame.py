"""One authenticated frame: header, body, truncated HMAC tag. Bytes in, message out, and back."""

import struct
from collections import namedtuple

from .auth import TAG_LEN
from .errors import (
    E_TRUNCATED,
    E_UNKNOWN_TYPE,
    E_VERSION,
    AuthError,
    DecodeError,
    LocalProtocolError,
)
from .messages import SCHEMAS, decode_body, encode_body

VERSION = 1
FLAG_FROM_HOST = 0x01  # who sent it: part of the tagged bytes, so a frame cannot be reflected back to its sender
MAX_DEVICE_ID = 32
MAX_COUNTER = 0xFFFFFFFF
# Largest frame: header (4 + 32 + 4) + the largest body (QUEUED with a MAX_CODE code: 1,246) + tag (8) = 1,294.
MAX_FRAME = 1400
MIN_FRAME = 4 + 1 + 4 + TAG_LEN

Header = namedtuple("Header", ("version", "msg_type", "from_host", "device_id", "counter", "body_start"))

_ID_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."


def valid_device_id(device_id):
    """Device ids are 1-32 characters of [A-Za-z0-9._-]: safe in MQTT topics, file names and logs."""
    if isinstance(device_id, str):
        device_id = device_id.encode()
    if not 0 < len(device_id) <= MAX_DEVICE_ID:
        return False
    for b in device_id:
        if b not in _ID_CHARS:
            return False
    return True


def encode_frame(msg, device_id, counter, signer, from_host):
    """counter: the frame's counter, or a counter store (counters.py) to take it from once the frame is known to be
    sendable, so that a frame refused here uses no counter."""
    if not valid_device_id(device_id):
        raise LocalProtocolError("bad device id %r" % (device_id,))
    msg_type, body = encode_body(msg)
    dev = device_id.encode()
    if 4 + len(dev) + 4 + len(body) + TAG_LEN > MAX_FRAME:
        raise LocalProtocolError("frame longer than %d bytes" % MAX_FRAME)
    if not isinstance(counter, int):
        counter = counter.next_tx()
    if not 0 < counter <= MAX_COUNTER:
        raise LocalProtocolError("counter %r out of range: exhausted? give the device a new key" % (counter,))
    head = struct.pack(">BBBB", VERSION, msg_type, FLAG_FROM_HOST if from_host else 0, len(dev))
    signed = b"".join((head, dev, struct.pack(">I", counter), body))
    return signed + signer.tag(signed)


def read_header(frame):
    """Parse the clear header, so a receiver can pick the key for the device named in it.

    Nothing here is authenticated yet: the caller verifies the tag before trusting any of it."""
    if len(frame) > MAX_FRAME:
        raise DecodeError("frame longer than %d bytes" % MAX_FRAME)
    if len(frame) < MIN_FRAME:
        raise DecodeError("frame shorter than %d bytes" % MIN_FRAME, E_TRUNCATED)
    version, msg_type, flags, id_len = struct.unpack_from(">BBBB", frame, 0)
    if version != VERSION:
        raise DecodeError("protocol version %d, this side speaks %d" % (version, VERSION), E_VERSION)
    if flags & ~FLAG_FROM_HOST:
        raise DecodeError("reserved flag bits set: 0x%02x" % flags)
    if not 0 < id_len <= MAX_DEVICE_ID or 4 + id_len + 4 + TAG_LEN > len(frame):
        raise DecodeError("bad device id length %d" % id_len)
    device_id = bytes(frame[4 : 4 + id_len])
    if not valid_device_id(device_id):
        raise DecodeError("bad device id")
    counter = struct.unpack_from(">I", frame, 4 + id_len)[0]
    if counter == 0:
        raise DecodeError("counter 0 is never sent")
    return Header(version, msg_type, bool(flags & FLAG_FROM_HOST), device_id.decode(), counter, 8 + id_len)


def verify_frame(frame, header, signer):
    """Check the tag over everything before it; raises AuthError. Done before the body is parsed."""
    end = len(frame) - TAG_LEN
    if not signer.verify(frame[:end], frame[end:]):
        raise AuthError("bad tag from %s" % header.device_id)


def decode_verified(frame, header):
    if header.msg_type not in SCHEMAS:
        raise DecodeError("unknown message type 0x%02x" % header.msg_type, E_UNKNOWN_TYPE)
    return decode_body(header.msg_type, frame, header.body_start, len(frame) - TAG_LEN)
