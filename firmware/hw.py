"""The hardware seam: every touch of machine, network, neopixel, time and files goes through these small adapters.

Application modules never import machine or network; they get a clock, a Files object and a hardware factory.
hw_fake.py has the fakes used by tests and by the host's simulator (same interfaces)."""

import os
import time

from firmware.clock import sleep_ms, ticks_ms

try:
    from gc import mem_free
except ImportError:  # CPython has no heap figures

    def mem_free():
        return 0


class Clock:
    """Real time: ticks for timeouts (wrap-safe with ticks_diff), seconds for the age of queued scans."""

    def ticks_ms(self):
        return ticks_ms()

    def sleep_ms(self, ms):
        sleep_ms(ms)

    def time(self):
        return int(time.time())


class Files:
    """Files under one root folder. Writes that must survive a power cut go through write_atomic."""

    def __init__(self, root=""):
        self.root = root

    def _path(self, name):
        return self.root + "/" + name if self.root else name

    def read(self, name):
        try:
            with open(self._path(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def read_at(self, name, offset, n):
        with open(self._path(name), "rb") as f:
            f.seek(offset)
            return f.read(n)

    def size(self, name):
        try:
            return os.stat(self._path(name))[6]
        except OSError:
            return -1

    def append(self, name, data):
        with open(self._path(name), "ab") as f:
            f.write(data)

    def write_atomic(self, name, chunks):
        """Write a temporary file and rename it over name: a power cut leaves the old or the new file, never half.
        LittleFS renames atomically; chunks is bytes or an iterable of bytes (to copy big files piecewise)."""
        path = self._path(name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            if isinstance(chunks, (bytes, bytearray)):
                f.write(chunks)
            else:
                for chunk in chunks:
                    f.write(chunk)
        try:
            os.rename(tmp, path)
        except OSError:  # a filesystem that will not rename over a file (FAT): not atomic, but still correct
            self.remove(name)
            os.rename(tmp, path)

    def remove(self, name):
        try:
            os.remove(self._path(name))
        except OSError:
            pass


class DiscreteLeds:
    """Green, yellow and red LEDs on three pins; a colour name lights one or more of them."""

    LIT = {"off": (), "green": ("green",), "yellow": ("yellow",), "red": ("red",), "white": ("green", "yellow", "red")}

    def __init__(self, pins, active_high=True):
        self._pins = pins  # colour -> object with value(v)
        self._on = 1 if active_high else 0
        self.show("off")

    def show(self, colour):
        lit = self.LIT.get(colour, ("red",))
        for name, pin in self._pins.items():
            pin.value(self._on if name in lit else 1 - self._on)


class Buzzer:
    """A passive buzzer on a PWM pin; tone(0) is silence."""

    def __init__(self, pwm):
        self._pwm = pwm
        self.tone(0)

    def tone(self, hz):
        if hz:
            self._pwm.freq(hz)
            self._pwm.duty_u16(32768)
        else:
            self._pwm.duty_u16(0)


class Relay:
    def __init__(self, pin, active_high=True):
        self._pin = pin
        self._on = 1 if active_high else 0
        self.set(False)

    def set(self, on):
        self._pin.value(self._on if on else 1 - self._on)


class MachineUart:
    """machine.UART behind the scanner drivers' interface: read() never blocks, set_baud() re-inits."""

    def __init__(self, uart_id, tx, rx, baud):
        from machine import UART

        self._uart = UART(uart_id, baudrate=baud, tx=tx, rx=rx, rxbuf=2048, timeout=0, timeout_char=0)
        self.baud = baud

    def read(self):
        return self._uart.read()

    def write(self, data):
        self._uart.write(data)

    def set_baud(self, baud):
        self._uart.init(baudrate=baud)
        self.baud = baud


class UsbStream:
    """The USB serial console as a binary byte stream for the framed protocol, with the REPL detached.

    Ctrl-C is disabled (frames may hold 0x03 bytes); link_serial.EscapeWatch gives technicians the REPL back."""

    def __init__(self):
        import select
        import sys

        import micropython

        try:
            os.dupterm(None)
        except (AttributeError, OSError, TypeError):
            pass
        micropython.kbd_intr(-1)
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self.connected = True

    def read(self):
        buf = bytearray()
        while len(buf) < 512 and self._poll.poll(0):
            buf.extend(self._in.read(1))
        return bytes(buf) if buf else None

    def write(self, data):
        self._out.write(data)

    def close(self):
        import micropython

        micropython.kbd_intr(3)


class Esp32Hardware:
    """Builds the board's adapters from its board definition (boards/*.json)."""

    def uart(self, spec, baud):
        return MachineUart(spec["uart"], spec["tx"], spec["rx"], baud)

    def leds(self, spec):
        from machine import Pin

        if spec["kind"] == "neopixel":
            from neopixel import NeoPixel

            from firmware.hw_optional import PixelLed

            return PixelLed(NeoPixel(Pin(spec["pin"], Pin.OUT), 1), spec.get("brightness", 64))
        pins = {}
        for colour in ("green", "yellow", "red"):
            pins[colour] = Pin(spec[colour], Pin.OUT)
        return DiscreteLeds(pins, spec.get("active_high", True))

    def buzzer(self, spec):
        from machine import PWM, Pin

        return Buzzer(PWM(Pin(spec["pin"]), freq=2000, duty_u16=0))

    def relay(self, spec):
        from machine import Pin

        return Relay(Pin(spec["pin"], Pin.OUT), spec.get("active_high", True))

    def display(self, spec):
        from firmware.hw_optional import oled

        return oled(spec)

    def watchdog(self, timeout_ms):
        from machine import WDT

        return WDT(timeout=timeout_ms)

    def serial_stream(self):
        return UsbStream()

    def wifi(self, ssid, password):
        from firmware.hw_optional import Wifi

        return Wifi(ssid, password)

    def mqtt_client(self, *args, **kw):
        # (client_id, host, port, user, password, keepalive[, ssl=SSLContext]) as umqtt.simple.MQTTClient takes them:
        # passed through, so the parameter names cost a serial unit nothing
        from umqtt.simple import MQTTClient

        return MQTTClient(*args, **kw)

    def mem_free(self):
        return mem_free()

    def reset(self):
        import machine

        machine.reset()
