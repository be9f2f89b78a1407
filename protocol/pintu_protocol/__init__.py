"""Pintu's wire protocol, sans-I/O: bytes in, messages out; messages in, bytes out.

Runs unchanged on CPython and MicroPython. The byte layouts are documented in protocol/README.md."""

from . import verdicts
from .auth import KEY_LEN, TAG_LEN, Signer, compare_digest, hmac_sha256
from .errors import (
    AuthError,
    DecodeError,
    FramingError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from .frame import MAX_DEVICE_ID, MAX_FRAME, VERSION, Header, read_header, valid_device_id
from .messages import (
    ACK,
    CONFIG,
    ERROR,
    HEARTBEAT,
    HELLO,
    IN,
    MAX_CODE,
    MAX_TEXT,
    OUT,
    QUEUED,
    SCAN,
    VERDICT,
    Ack,
    Config,
    Error,
    Heartbeat,
    Hello,
    Queued,
    Scan,
    Verdict,
    type_name,
)
from .session import HOST, UNIT, Session
from .stream import StreamDecoder, crc16, encode_stream

__version__ = "1"
