"""The GM65/GM66/GM861 boot-time configuration over its command protocol (the vendor command manual has the frames).

Its own module so that a unit holds this code only while it boots: Gm65.configure() imports it, and
main.release_boot_modules() frees it afterwards (every module a unit keeps stays on its heap)."""

from firmware.clock import const, ticks_diff
from firmware.scanner import command, reply_length

_T_READ = const(0x07)
_T_WRITE = const(0x08)
_T_SAVE = const(0x09)
_ZONE_MODE = const(0x0000)  # bits 1-0: 00 manual, 01 command, 10 continuous, 11 sense (induction)
_ZONE_OUTPUT = const(0x000D)  # bits 1-0: 00 serial output (unconfirmed)
_ZONE_BAUD = const(0x002A)  # two bytes, little-endian divisor
_ZONE_TAIL = const(0x0060)  # bits 6-5: 00 CR terminator (unconfirmed)
_ACK = b"\x02\x00\x00\x01\x00\x33\x31"
MODES = {"continuous": 0x02, "sense": 0x03}
# Zone 0x002A values: 115200 and 9600 are from vendor frames; the others follow their 3 MHz / baud rule.
BAUD_CODES = {9600: 0x0139, 19200: 0x009C, 38400: 0x004E, 57600: 0x0034, 115200: 0x001A}


def read_command(zone, count=1):
    return command(_T_READ, zone, bytes((count,)))


def write_command(zone, data):
    return command(_T_WRITE, zone, data)


def save_command():
    return command(_T_SAVE, 0x0000, b"\x00")


def baud_command(baud):
    code = BAUD_CODES[baud]
    return write_command(_ZONE_BAUD, bytes((code & 0xFF, code >> 8)))


class _Setup:
    """One configuration run on a Gm65 driver's UART and clock."""

    def __init__(self, driver):
        self.uart = driver._uart
        self.clock = driver._clock
        self.changed = False

    def ask(self, frame, timeout_ms=300):
        """Send one command; the reply bytes (None when the module did not answer in time)."""
        self.uart.read()  # drop whatever was pending
        self.uart.write(frame)
        start = self.clock.ticks_ms()
        buf = bytearray()
        while ticks_diff(self.clock.ticks_ms(), start) < timeout_ms:
            data = self.uart.read()
            if data:
                buf.extend(data)
                if reply_length(buf) > 0:
                    return bytes(buf[: reply_length(buf)])
            self.clock.sleep_ms(5)
        return None

    def read_zone(self, zone):
        reply = self.ask(read_command(zone))
        if reply is None or reply[2] != 0 or reply[3] != 1:
            return None
        return reply[4]

    def set_bits(self, zone, mask, value):
        current = self.read_zone(zone)
        if current is None:
            return False
        wanted = (current & ~mask) | value
        if wanted == current:
            return True  # already so: no write, and no flash save for it
        self.changed = True
        return self.ask(write_command(zone, bytes((wanted,)))) == _ACK


def configure(driver):
    """Serial output, continuous/sense mode, CR terminator, target baud, saved. True when every step was
    acknowledged; otherwise the UART is left at whichever rate the module answered (or its factory rate)."""
    run = _Setup(driver)
    uart = run.uart
    baud, factory = driver._baud, driver._factory_baud
    for rate in (baud, factory):
        uart.set_baud(rate)
        if run.read_zone(_ZONE_MODE) is not None:
            break
    else:
        uart.set_baud(factory)
        return False
    ok = (
        run.set_bits(_ZONE_OUTPUT, 0x03, 0x00)
        and run.set_bits(_ZONE_MODE, 0x03, MODES[driver.mode])
        and run.set_bits(_ZONE_TAIL, 0x60, 0x00)
    )
    if ok and uart.baud != baud:
        ok = run.ask(baud_command(baud)) == _ACK  # acknowledged at the old rate, then it switches
        if ok:
            uart.set_baud(baud)
            run.changed = True
    if ok and run.changed:  # the module's flash is written only when a setting changed
        ok = run.ask(save_command()) == _ACK
    if not ok and run.read_zone(_ZONE_MODE) is None:
        # Lost it mid-way (e.g. the baud switch): read at whichever rate it answers now.
        uart.set_baud(factory if uart.baud == baud else baud)
    return ok
