"""The virtual board's side of the hardware seam (test-only: tests/mpy/board.mjs puts it in /virtual at every boot;
`pintu deploy` never copies it). Runs under the MicroPython WebAssembly port, on the files that were deployed.

A real board's main.py runs its loop for ever; the WebAssembly port cannot block (node must keep serving the socket),
so the bridge steps the deployed app instead: boot() does what main.run() does before its loop (maintenance flag,
unit.build, release_boot_modules, watchdog) and step(n) runs the deployed main.run_loop for n iterations.
Frames go out on stdout and come in from the bridge, exactly the console the REPL uses, like hw.UsbStream."""

import json
import sys

import hw_fake  # firmware/hw_fake.py, also put in /virtual by the bridge

from firmware import hw
from firmware.clock import ticks_diff, ticks_ms

BOOT_MESSAGE = "pintu: starting (virtual board: no boot window)"


class ConsoleStream:
    """The app's serial link on the console: write() to stdout, read() what the bridge fed in."""

    connected = True

    def __init__(self):
        self._in = []

    def feed(self, data):
        self._in.append(bytes(data))

    def read(self):
        if not self._in:
            return None
        data = b"".join(self._in)
        self._in = []
        return data

    def write(self, data):
        sys.stdout.buffer.write(data)

    def close(self):
        pass


class SteppedClock(hw.Clock):
    """Real ticks; sleep_ms returns at once because the bridge's timer paces the loop. now_ms feeds the recorder."""

    def __init__(self):
        self._start = ticks_ms()

    def sleep_ms(self, ms):
        pass

    @property
    def now_ms(self):
        return ticks_diff(ticks_ms(), self._start)


class VirtualHardware(hw_fake.FakeHardware):
    """Fake scanner (an emulated GM65), recorded LEDs/buzzer/relay, the console as the serial link."""

    def __init__(self, clock, recorder, module, stream=None):
        super().__init__(clock, recorder, module, stream)
        self.reset_requested = False

    def reset(self):
        self.reset_requested = True  # the bridge reboots the instance

    def mem_free(self):
        return hw.mem_free()


class VirtualBoard:
    def __init__(self):
        import main  # the deployed /main.py

        self.main = main
        self.files = hw.Files()
        self.clock = SteppedClock()
        self.recorder = hw_fake.Recorder(self.clock)
        self.stream = ConsoleStream()
        self.hardware = None
        self.app = None
        self.watchdog = None

    def boot(self):
        """True when the app started; False leaves the REPL (maintenance boot), as main.run() would."""
        main = self.main
        if self.files.read(main.MAINTENANCE_FLAG) is not None:
            self.files.remove(main.MAINTENANCE_FLAG)
            print("pintu: maintenance boot: REPL attached, app not started; machine.reset() to run it")
            return False
        print(BOOT_MESSAGE)
        # The deployed board.json and pintu.json, as a board's main.py reads them.
        self.app, self.hardware = hw_fake.unit_on_fakes(self.files, self.clock, self.recorder,
                                                        hardware=VirtualHardware, stream=self.stream)
        main.release_boot_modules()
        if getattr(self.app, "needs_watchdog", False):
            self.watchdog = self.hardware.watchdog(self.app.watchdog_ms)
        return True

    def feed(self, data):
        self.stream.feed(data)

    def step(self, n):
        """Run the deployed loop n times; 1 when the app asked for a reset (the REPL escape), else 0."""
        main = self.main
        try:
            main.run_loop(self.app, self.watchdog, self.clock, steps=n)
        except main.ReplEscape:  # what main.run() does: flag a maintenance boot, then reset
            self.files.write_atomic(main.MAINTENANCE_FLAG, b"1")
            self.app.close()
            self.hardware.reset()
        return 1 if self.hardware.reset_requested else 0

    def scan(self, code):
        """A code held under the virtual scanner (CR-terminated, as the GM65 sends it)."""
        self.hardware.scanner_uart.feed(bytes(code) + b"\r")

    def outputs(self):
        """The recorded LED/buzzer/relay changes as JSON: [[ms, device, value], ...]."""
        return json.dumps([list(e) for e in self.recorder.events])

    def status(self):
        app = self.app
        return json.dumps({"state": getattr(app, "state", None), "errors": getattr(app, "errors", 0),
                           "last_error": getattr(app, "last_error", ""),
                           "fault": getattr(app, "reason", None)})
