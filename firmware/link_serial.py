"""The USB-serial link: protocol frames in COBS stream framing over a byte stream, and the REPL escape.

The stream is any object with read() -> bytes or None (never blocking) and write(bytes): hw.UsbStream on a board,
a pty or socket in the host's simulator, hw_fake.FakeStream in tests. `connected` is the stream's own view
(always True for USB, which cannot tell whether a host is listening)."""

import pintu_protocol as p
from firmware.clock import const, ticks_diff

_ESCAPE_COUNT = const(3)
_ESCAPE_MS = const(1000)


class ReplEscape(Exception):
    """A technician asked for the REPL: main.py stops the app (see firmware/README.md)."""


class EscapeWatch:
    """Three Ctrl-C (0x03) within a second, outside any frame, ask for the REPL.

    "Outside a frame" means the bytes since the last 0x00 delimiter are only 0x03 and CR: a frame's stretch can
    never look like that, because its second byte is always the protocol version (0x01)."""

    def __init__(self):
        self._only_ctrl = True
        self._times = []

    def feed(self, data, now):
        pos = 0
        end = len(data)
        while pos < end:
            if not self._only_ctrl:
                zero = data.find(b"\x00", pos)
                if zero < 0:
                    return False
                pos = zero
            b = data[pos]
            pos += 1
            if b == 0:
                self._only_ctrl = True
                self._times = []
            elif b == 3:
                self._times.append(now)
                if len(self._times) >= _ESCAPE_COUNT:
                    if ticks_diff(now, self._times[-_ESCAPE_COUNT]) <= _ESCAPE_MS:
                        return True
                    self._times = self._times[-_ESCAPE_COUNT + 1 :]
            elif b != 13:
                self._only_ctrl = False
                self._times = []
        return False


class SerialLink:
    def __init__(self, stream, clock, escape=True):
        self._stream = stream
        self._clock = clock
        self.decoder = p.StreamDecoder()  # decoder.errors: stretches of line noise dropped
        self._escape = EscapeWatch() if escape else None

    @property
    def connected(self):
        return getattr(self._stream, "connected", True)

    def tick(self):
        pass

    def poll(self):
        """Whole frames received since the last call (CRC checked, not yet authenticated)."""
        data = self._stream.read()
        if not data:
            return ()
        if self._escape is not None and self._escape.feed(data, self._clock.ticks_ms()):
            raise ReplEscape()
        self.decoder.feed(data)
        return self.decoder.frames()

    def send(self, frame):
        if not self.connected:
            return False
        try:
            self._stream.write(p.encode_stream(frame))
        except OSError:
            return False
        return True

    def close(self):
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
