"""QR scanner drivers: the code-line reader shared by all modules, and the GM65/GM66/GM861 (Hangzhou Grow) driver.

Both drivers have one small interface: configure() at boot, poll() -> one code (bytes) or None, tick() for periodic
work. Frame layouts are in ../shared/HARDWARE.md; zone values marked "unconfirmed" are read-modify-written so a
wrong guess costs only that setting."""

from firmware.clock import const, ticks_diff
from pintu_protocol import crc16

_T_READ = const(0x07)
_T_WRITE = const(0x08)
_T_SAVE = const(0x09)
_T_HEARTBEAT = const(0x0A)
_ZONE_MODE = const(0x0000)  # bits 1-0: 00 manual, 01 command, 10 continuous, 11 sense (induction)
_ZONE_OUTPUT = const(0x000D)  # bits 1-0: 00 serial output (unconfirmed)
_ZONE_BAUD = const(0x002A)  # two bytes, little-endian divisor
_ZONE_TAIL = const(0x0060)  # bits 6-5: 00 CR terminator (unconfirmed)
_ACK = b"\x02\x00\x00\x01\x00\x33\x31"
_HEARTBEAT_MS = const(10000)  # GM861's suggested interval
MODES = {"continuous": 0x02, "sense": 0x03}
# Zone 0x002A values: 115200 and 9600 are from vendor frames; the others follow their 3 MHz / baud rule.
BAUD_CODES = {9600: 0x0139, 19200: 0x009C, 38400: 0x004E, 57600: 0x0034, 115200: 0x001A}
TERMINATORS = b"\r\n\t"
_GAP_MS = const(300)  # a code whose bytes stop arriving this long without a terminator is a half code


def command(msg_type, zone, data):
    """One command frame: 7E 00 | type | len | zone (BE) | data | crc16 over type..data, from 0."""
    body = bytes((msg_type, len(data), zone >> 8, zone & 0xFF)) + bytes(data)
    crc = crc16(body, 0)
    return b"\x7e\x00" + body + bytes((crc >> 8, crc & 0xFF))


def read_command(zone, count=1):
    return command(_T_READ, zone, bytes((count,)))


def write_command(zone, data):
    return command(_T_WRITE, zone, data)


def save_command():
    return command(_T_SAVE, 0x0000, b"\x00")


def heartbeat_command():
    return command(_T_HEARTBEAT, 0x0000, b"\x00")


def baud_command(baud):
    code = BAUD_CODES[baud]
    return write_command(_ZONE_BAUD, bytes((code & 0xFF, code >> 8)))


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
        self._mode = MODES[mode]
        self._heartbeat = heartbeat  # GM861 only
        self._last_beat = clock.ticks_ms()
        self.configured = False

    def _ask(self, frame, timeout_ms=300):
        """Send one command; the reply bytes (None when the module did not answer in time)."""
        self._uart.read()  # drop whatever was pending
        self._uart.write(frame)
        start = self._clock.ticks_ms()
        buf = bytearray()
        while ticks_diff(self._clock.ticks_ms(), start) < timeout_ms:
            data = self._uart.read()
            if data:
                buf.extend(data)
                if reply_length(buf) > 0:
                    return bytes(buf[: reply_length(buf)])
            self._clock.sleep_ms(5)
        return None

    def _read_zone(self, zone):
        reply = self._ask(read_command(zone))
        if reply is None or reply[2] != 0 or reply[3] != 1:
            return None
        return reply[4]

    def _write_zone(self, zone, data):
        return self._ask(write_command(zone, data)) == _ACK

    def _set_bits(self, zone, mask, value):
        current = self._read_zone(zone)
        if current is None:
            return False
        wanted = (current & ~mask) | value
        if wanted == current:
            return True  # already so: no write, and no flash save for it
        self._changed = True
        return self._write_zone(zone, bytes((wanted,)))

    def configure(self):
        """Serial output, continuous/sense mode, CR terminator, target baud, saved. True when every step was
        acknowledged; otherwise the UART is left at whichever rate the module answered (or its factory rate)."""
        uart = self._uart
        for rate in (self._baud, self._factory_baud):
            uart.set_baud(rate)
            if self._read_zone(_ZONE_MODE) is not None:
                break
        else:
            uart.set_baud(self._factory_baud)
            return False
        self._changed = False
        ok = (
            self._set_bits(_ZONE_OUTPUT, 0x03, 0x00)
            and self._set_bits(_ZONE_MODE, 0x03, self._mode)
            and self._set_bits(_ZONE_TAIL, 0x60, 0x00)
        )
        if ok and uart.baud != self._baud:
            ok = self._ask(baud_command(self._baud)) == _ACK  # acknowledged at the old rate, then it switches
            if ok:
                uart.set_baud(self._baud)
                self._changed = True
        if ok and self._changed:  # the module's flash is written only when a setting changed
            ok = self._ask(save_command()) == _ACK
        if not ok and self._read_zone(_ZONE_MODE) is None:
            # Lost it mid-way (e.g. the baud switch): read at whichever rate it answers now.
            uart.set_baud(self._factory_baud if uart.baud == self._baud else self._baud)
        self.configured = ok
        return ok

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
