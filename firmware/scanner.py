"""QR scanner drivers: the code-line reader shared by all modules, and the GM65/GM66/GM861 (Hangzhou Grow) driver.

Both drivers have one small interface: configure() at boot, poll() -> one code (bytes) or None, tick() for periodic
work. Frame layouts follow the GM65/GM861 command manual (firmware/README.md); zone values marked "unconfirmed" are
read-modify-written so a wrong guess costs only that setting."""

from firmware.clock import const, ticks_diff
from pintu_protocol import crc16

_T_HEARTBEAT = const(0x0A)
_HEARTBEAT_MS = const(10000)  # GM861's suggested interval
TERMINATORS = b"\r\n\t"
_GAP_MS = const(300)  # a code whose bytes stop arriving this long without a terminator is a half code


def command(msg_type, zone, data):
    """One command frame: 7E 00 | type | len | zone (BE) | data | crc16 over type..data, from 0."""
    body = bytes((msg_type, len(data), zone >> 8, zone & 0xFF)) + bytes(data)
    crc = crc16(body, 0)
    return b"\x7e\x00" + body + bytes((crc >> 8, crc & 0xFF))


def heartbeat_command():
    return command(_T_HEARTBEAT, 0x0000, b"\x00")


def reply_length(buf):
    """Length of a module reply (02 00 | status | len | data | crc, or 03 00 .. for GM861 heartbeats) at the start of
    buf: 0 when buf does not start with one, -1 when one has started but is not complete yet."""
    if len(buf) < 2 or buf[0] not in (2, 3) or buf[1] != 0:
        return 0
    if len(buf) < 4:
        return -1
    total = 6 + buf[3]
    return total if len(buf) >= total else -1


class CodeReader:
    """Bytes from the scanner line in, whole codes out. Drops noise (control bytes), half codes (bytes that stop
    without a terminator), and codes longer than max_code, counting each, with at most max_code bytes held."""

    def __init__(self, max_code, min_code=4, replies=None):
        self._reply_length = replies or reply_length  # how to spot the module's own answers on the line
        self.max_code = max_code
        self.min_code = min_code
        self._buf = bytearray()
        self._overflow = False
        self._last = 0
        self.codes = []
        self.noise = 0
        self.too_long = 0
        self.partial = 0

    def feed(self, data, now):
        if (self._buf or self._overflow) and ticks_diff(now, self._last) > _GAP_MS:
            self.partial += 1
            self._reset()
        self._last = now
        pos = 0
        end = len(data)
        while pos < end:
            stop = end
            for t in TERMINATORS:
                i = data.find(bytes((t,)), pos)
                if 0 <= i < stop:
                    stop = i
            if not self._overflow:
                if len(self._buf) + stop - pos > self.max_code + 8:
                    self._buf = bytearray()
                    self._overflow = True
                else:
                    self._buf.extend(data[pos:stop])
                    self._strip_replies()
            if stop == end:
                return
            self._finish()
            pos = stop + 1

    def _strip_replies(self):
        n = self._reply_length(self._buf)
        while n > 0:
            self._buf = self._buf[n:]
            n = self._reply_length(self._buf)

    def _finish(self):
        buf = self._buf
        if self._overflow or len(buf) > self.max_code:
            self.too_long += 1
        elif buf and self._reply_length(buf) == 0:
            if len(buf) < self.min_code:
                self.noise += 1
            else:
                for b in buf:
                    if b < 0x20 or b == 0x7F:
                        self.noise += 1
                        break
                else:
                    self.codes.append(bytes(buf))
        self._reset()

    def _reset(self):
        self._buf = bytearray()
        self._overflow = False

    def pop(self):
        return self.codes.pop(0) if self.codes else None


class Gm65:
    """GM65 / GM66 / GM861 on a UART adapter (read() never blocks, write(), set_baud())."""

    def __init__(self, uart, clock, max_code, baud=115200, factory_baud=9600, mode="continuous", heartbeat=False):
        self._uart = uart
        self._clock = clock
        self.reader = CodeReader(max_code)
        self._baud = baud
        self._factory_baud = factory_baud
        self.mode = mode  # "continuous" or "sense": scanner_setup.MODES
        self._heartbeat = heartbeat  # GM861 only
        self._last_beat = clock.ticks_ms()
        self.configured = False

    def configure(self):
        """Serial output, continuous/sense mode, CR terminator, target baud, saved: scanner_setup.configure (boot
        only, so its code is freed after boot)."""
        from firmware.scanner_setup import configure

        self.configured = configure(self)
        return self.configured

    def poll(self):
        data = self._uart.read()
        if data:
            self.reader.feed(data, self._clock.ticks_ms())
        return self.reader.pop()

    def tick(self):
        if self._heartbeat:
            now = self._clock.ticks_ms()
            if ticks_diff(now, self._last_beat) >= _HEARTBEAT_MS:
                self._last_beat = now
                self._uart.write(heartbeat_command())  # its 03 00 .. reply is skipped by the reader
