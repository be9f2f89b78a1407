"""M5Stack Atomic QRCode base driver (SSI-like command frames at 9600 baud), behind the same interface as scanner.Gm65.

SSI frame: length | opcode | source (04 = host) | status | data | checksum (two's complement of the byte sum, BE).
In "host" trigger mode the unit asks for each read with START_DECODE (`04 E4 04 00 FF 14`); in "auto" mode the base
reads continuously and nothing is sent. Codes arrive as text ending in CR (or CRLF)."""

from firmware.clock import const, ticks_diff
from firmware.scanner import CodeReader

_START_DECODE = const(0xE4)
_STOP_DECODE = const(0xE5)
_SOURCE_HOST = const(0x04)
_REARM_MS = const(3000)  # in host mode, ask for a new read this often while none arrives


def ssi_command(opcode, data=b""):
    body = bytes((4 + len(data), opcode, _SOURCE_HOST, 0)) + bytes(data)
    check = (0x10000 - sum(body)) & 0xFFFF
    return body + bytes((check >> 8, check & 0xFF))


def ssi_reply_length(buf):
    """Length of an SSI ACK/NAK (length | D0/D1 | source | status | checksum) at the start of buf; 0 if none there,
    -1 if one has started."""
    if len(buf) < 2 or not 4 <= buf[0] < 0x20 or buf[1] not in (0xD0, 0xD1):
        return 0
    return buf[0] + 2 if len(buf) >= buf[0] + 2 else -1


class AtomicQr:
    def __init__(self, uart, clock, max_code, baud=9600, trigger="auto"):
        self._uart = uart
        self._clock = clock
        self.reader = CodeReader(max_code, replies=ssi_reply_length)
        self._baud = baud
        self._host_trigger = trigger == "host"
        self._armed_at = clock.ticks_ms()
        self.configured = False

    def configure(self):
        self._uart.set_baud(self._baud)
        if self._host_trigger:
            self._uart.write(ssi_command(_START_DECODE))
            self._armed_at = self._clock.ticks_ms()
        self.configured = True
        return True

    def poll(self):
        data = self._uart.read()
        if data:
            self.reader.feed(data, self._clock.ticks_ms())
        code = self.reader.pop()
        if code is not None and self._host_trigger:
            self._rearm()
        return code

    def _rearm(self):
        self._uart.write(ssi_command(_START_DECODE))
        self._armed_at = self._clock.ticks_ms()

    def tick(self):
        if self._host_trigger and ticks_diff(self._clock.ticks_ms(), self._armed_at) >= _REARM_MS:
            self._rearm()
