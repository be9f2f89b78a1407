"""A protocol session with one device: counters, direction rules, and authentication of every frame."""

from .auth import KEY_LEN, Signer
from .errors import E_REPLAY, E_UNKNOWN_DEVICE, E_WRONG_DIRECTION, AuthError, DecodeError, LocalProtocolError
from .frame import decode_verified, encode_frame, read_header, verify_frame
from .messages import ACK, CONFIG, ERROR, HEARTBEAT, HELLO, QUEUED, SCAN, TYPE_OF, VERDICT, type_name

UNIT = 0
HOST = 1

# Which side may send which type: a unit never sends a VERDICT, a host never sends a SCAN.
SENDS = {
    UNIT: (HELLO, SCAN, QUEUED, HEARTBEAT, ACK, ERROR),
    HOST: (VERDICT, CONFIG, ACK, ERROR),
}


class Session:
    """Frames to and from one device under its key.

    Counters: every frame carries a counter above the last one its sender used; the receiver refuses one that is
    not above the last accepted (a replay). The session takes both from a counter store (counters.py has the
    contract: next_tx(), accept_rx(n)), so the side that must keep them across restarts owns them: the host's
    registry (a sliding window per device, shared by every worker), a unit's counter blocks on flash
    (firmware/counter.py). Without one, a MemoryCounters holds them for this session's life."""

    def __init__(self, device_id, key, role, counters=None):
        if len(key) != KEY_LEN:
            raise LocalProtocolError("a device key is %d bytes" % KEY_LEN)
        if counters is None:
            from .counters import MemoryCounters

            counters = MemoryCounters()
        self.device_id = device_id
        self.role = role
        self.counters = counters
        self._signer = Signer(key)

    def send(self, msg):
        """Encode msg as the next authenticated frame (bytes, no stream framing)."""
        if TYPE_OF.get(type(msg)) not in SENDS[self.role]:
            raise LocalProtocolError("this side does not send %r" % (msg,))
        return encode_frame(msg, self.device_id, self.counters, self._signer, self.role == HOST)

    def receive(self, frame, header=None):
        """Authenticate and decode one frame from the peer; raises a RemoteProtocolError subclass (AuthError with
        code E_REPLAY for a counter the store refuses).

        Pass the header if it was already read (to route the frame to this session)."""
        if header is None:
            header = read_header(frame)
        if header.device_id != self.device_id:
            raise AuthError("frame for device %s on %s's session" % (header.device_id, self.device_id),
                            E_UNKNOWN_DEVICE)
        # A frame claiming our own direction is a reflection of our own traffic: refuse it like a bad tag.
        if header.from_host == (self.role == HOST):
            raise AuthError("frame sent in our own direction")
        verify_frame(frame, header, self._signer)
        # Authentic: the store checks the counter and spends it in one step, even if the body turns out malformed.
        if not self.counters.accept_rx(header.counter):
            raise AuthError("counter %d is not above the last accepted" % header.counter, E_REPLAY)
        msg = decode_verified(frame, header)
        if header.msg_type not in SENDS[1 - self.role]:
            raise DecodeError("%s is never sent to this side" % type_name(header.msg_type), E_WRONG_DIRECTION)
        return msg
