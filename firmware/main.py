"""Board entry point (copied to /main.py): boot window, the app, the watchdog-fed main loop, the REPL escape.

Every exception raised in the loop is caught, counted and reported in the next HEARTBEAT; the loop goes on.
The REPL is reachable (firmware/README.md): Ctrl-C during the boot window, or three Ctrl-C within a second on the
USB serial link while the app runs, which reboots the unit into maintenance mode (app and watchdog not started)."""

import sys

from firmware import hw
from firmware.link_serial import ReplEscape

MAINTENANCE_FLAG = "pintu.repl"
BOOT_WINDOW_MS = 2000
IDLE_MS = 5  # loop pause: scanner bytes wait in the UART buffer (2 KB), frames in the USB/socket buffers
BOOT_ONLY = ("unit", "board", "config", "scanner_setup")  # modules needed only to build the unit


def release_boot_modules():
    """Forget the modules only boot needs, so the garbage collector frees their bytecode (about 7 KB as .mpy)."""
    import firmware

    for name in BOOT_ONLY:
        sys.modules.pop("firmware." + name, None)
        try:
            delattr(firmware, name)
        except AttributeError:
            pass


def run_loop(app, watchdog, clock, steps=None):
    """Step the app until stopped (steps=None: for ever). Only ReplEscape and BaseExceptions get out."""
    n = 0
    while steps is None or n < steps:
        if watchdog is not None:
            watchdog.feed()
        try:
            app.step()
        except ReplEscape:
            raise
        except Exception as e:  # one bad scan, frame or driver hiccup must never stop the door
            app.record_error(e)
        clock.sleep_ms(IDLE_MS)
        n += 1


def run(hardware=None, files=None, clock=None, release=True):
    hardware = hardware or hw.Esp32Hardware()
    files = files or hw.Files()
    clock = clock or hw.Clock()
    if files.read(MAINTENANCE_FLAG) is not None:
        files.remove(MAINTENANCE_FLAG)  # one maintenance boot; machine.reset() starts the app again
        print("pintu: maintenance boot: REPL attached, app not started; machine.reset() to run it")
        return None
    print("pintu: starting; Ctrl-C within %d ms for the REPL" % BOOT_WINDOW_MS)
    clock.sleep_ms(BOOT_WINDOW_MS)  # a KeyboardInterrupt here ends run(): nothing started, the REPL is back
    from firmware import unit

    app = unit.build(files, clock, hardware)
    unit = None
    if release:
        release_boot_modules()
    watchdog = hardware.watchdog(app.watchdog_ms) if getattr(app, "needs_watchdog", False) else None
    try:
        run_loop(app, watchdog, clock)
    except ReplEscape:
        files.write_atomic(MAINTENANCE_FLAG, b"1")
        app.close()
        hardware.reset()  # the watchdog cannot be stopped: reboot into maintenance mode instead
    return app


if __name__ == "__main__":
    run()
