"""The protocol's error tree: one root, a local/remote split, a stable code on every error."""

# Stable error codes: they travel in ERROR messages and in logs, so never renumber them.
E_ENCODE = 1  # we were asked to send something the protocol cannot carry
E_FRAME_TOO_LONG = 10  # a stream frame grew past the size limit before its delimiter
E_FRAME_CORRUPT = 11  # COBS structure broken (line noise, a byte lost)
E_FRAME_CRC = 12  # the frame check sequence does not match
E_TRUNCATED = 20  # fewer bytes than the layout needs
E_BAD_FIELD = 21  # a field is out of range or not of its kind
E_VERSION = 22  # a protocol version this peer does not speak
E_UNKNOWN_TYPE = 23  # a message type this peer does not know
E_WRONG_DIRECTION = 24  # a message that this side never receives (e.g. a VERDICT sent to the host)
E_BAD_TAG = 30  # the authentication tag does not verify
E_UNKNOWN_DEVICE = 31  # no key for the device id in the header
E_REPLAY = 32  # the counter is not above the last accepted one

CODE_NAMES = {
    E_ENCODE: "encode",
    E_FRAME_TOO_LONG: "frame_too_long",
    E_FRAME_CORRUPT: "frame_corrupt",
    E_FRAME_CRC: "frame_crc",
    E_TRUNCATED: "truncated",
    E_BAD_FIELD: "bad_field",
    E_VERSION: "version",
    E_UNKNOWN_TYPE: "unknown_type",
    E_WRONG_DIRECTION: "wrong_direction",
    E_BAD_TAG: "bad_tag",
    E_UNKNOWN_DEVICE: "unknown_device",
    E_REPLAY: "replay",
}


class ProtocolError(Exception):
    """Root of every error the protocol package raises."""

    code = 0

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self):
        return "%s: %s" % (CODE_NAMES.get(self.code, "error"), self.message)


class LocalProtocolError(ProtocolError):
    """This side tried to send something the protocol cannot carry."""

    code = E_ENCODE


class RemoteProtocolError(ProtocolError):
    """The peer (or the line) sent something that is refused."""


class FramingError(RemoteProtocolError):
    """A stream frame was dropped: too long, broken or failing its CRC. The stream decoder resyncs."""

    code = E_FRAME_CORRUPT


class DecodeError(RemoteProtocolError):
    """A whole frame whose layout or fields are wrong."""

    code = E_BAD_FIELD


class AuthError(RemoteProtocolError):
    """A frame that is not authentic: bad tag, unknown device, or replayed. Log it as a security event."""

    code = E_BAD_TAG
