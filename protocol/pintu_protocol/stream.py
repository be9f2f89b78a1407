"""Stream framing for byte links (USB serial): COBS with a CRC-16, delimited by 0x00 on both sides.

On the wire: 00 | COBS(frame | crc16(frame), big-endian) | 00. The leading 00 flushes whatever noise came before
(boot messages, a half frame from an unplugged cable), so one bad stretch costs at most one frame. Over MQTT
a payload is one frame and none of this applies."""

from .errors import E_FRAME_CORRUPT, E_FRAME_CRC, E_FRAME_TOO_LONG, FramingError
from .frame import MAX_FRAME

# COBS adds one byte per 254, plus two for the CRC: anything longer before a delimiter is dropped unbuffered.
MAX_ENCODED = MAX_FRAME + 2 + (MAX_FRAME + 2) // 254 + 1


# CRC of each 4-bit value: a 16-entry table instead of the usual 256 entries keeps about 1 KB of a door unit's heap
# free, for two lookups per byte instead of one (a 1,300-byte frame still takes a few milliseconds on an ESP32).
_CRC_NIBBLES = (
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
    0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
)


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT, polynomial 0x1021, no final xor. The default start 0xFFFF (CCITT-FALSE) is what the
    framing uses; the GM65/GM861 scanners use the same polynomial from 0 (pass crc=0)."""
    for b in data:
        crc = ((crc << 4) & 0xFFFF) ^ _CRC_NIBBLES[(crc >> 12) ^ (b >> 4)]
        crc = ((crc << 4) & 0xFFFF) ^ _CRC_NIBBLES[(crc >> 12) ^ (b & 0x0F)]
    return crc


def cobs_encode(data):
    out = bytearray()
    block = bytearray()
    for b in data:
        if b:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out.extend(block)
                block = bytearray()
        else:
            out.append(len(block) + 1)
            out.extend(block)
            block = bytearray()
    out.append(len(block) + 1)
    out.extend(block)
    return bytes(out)


def cobs_decode(data):
    out = bytearray()
    pos = 0
    end = len(data)
    while pos < end:
        code = data[pos]
        if code == 0 or pos + code > end:
            raise FramingError("broken COBS block", E_FRAME_CORRUPT)
        block = data[pos + 1 : pos + code]
        if 0 in block:
            raise FramingError("zero inside a COBS block", E_FRAME_CORRUPT)
        out.extend(block)
        pos += code
        if code < 255 and pos < end:
            out.append(0)
    return bytes(out)


def encode_stream(frame):
    """Wrap one frame for a byte stream."""
    crc = crc16(frame)
    return b"\x00" + cobs_encode(frame + bytes((crc >> 8, crc & 0xFF))) + b"\x00"


class StreamDecoder:
    """Bytes in, whole frames out. Resyncs at the next 0x00 after noise, truncation or an over-long frame.

    feed() the bytes read, then take the frames: `for frame in decoder.frames(): ...` yields every whole frame fed
    so far (CRC checked, still to be authenticated) and skips the stretches it drops. Each dropped stretch (noise, a
    cut, corrupt or over-long frame) adds one to `errors`, a count the caller may report, and is passed to
    on_error(FramingError) when the caller gives one (to log it). A caller may stop iterating at any frame: the rest
    wait for the next call.
    Memory held: the fed-but-not-drained frames plus at most MAX_ENCODED bytes of a partial one."""

    def __init__(self, max_encoded=MAX_ENCODED):
        self._max = max_encoded
        self._partial = bytearray()
        self._overflow = False
        self._ready = []  # encoded stretches between delimiters, or a FramingError to raise in turn
        self.errors = 0  # stretches dropped since this decoder was made

    def feed(self, data):
        start = 0
        end = len(data)
        while start < end:
            zero = data.find(b"\x00", start)
            stop = end if zero < 0 else zero
            if not self._overflow:
                if len(self._partial) + stop - start > self._max:
                    self._partial = bytearray()
                    self._overflow = True
                else:
                    self._partial.extend(data[start:stop])
            if zero < 0:
                return
            if self._overflow:
                self._ready.append(FramingError("frame longer than %d bytes" % self._max, E_FRAME_TOO_LONG))
                self._overflow = False
            elif self._partial:
                self._ready.append(bytes(self._partial))
                self._partial = bytearray()
            start = zero + 1

    def frames(self, on_error=None):
        while self._ready:
            item = self._ready.pop(0)
            try:
                if isinstance(item, FramingError):
                    raise item
                raw = cobs_decode(item)
                if len(raw) < 3:
                    raise FramingError("frame too short", E_FRAME_CORRUPT)
                frame = raw[:-2]
                if crc16(frame) != (raw[-2] << 8) | raw[-1]:
                    raise FramingError("CRC mismatch", E_FRAME_CRC)
            except FramingError as e:
                self.errors += 1
                if on_error is not None:
                    on_error(e)
                continue
            yield frame
