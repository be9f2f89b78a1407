"""`pintu flash`: write a MicroPython image to an ESP32-family board with esptool's Python API (esptool v5).

Order of work, so that nothing is written to the wrong board: the image is checked first (a file, an ESP image,
built for the chip asked for), then the chip on the port is detected and a different chip is refused, and only then
is flash erased (--erase) and written. esptool v5's write_flash verifies what it wrote (an MD5 of the flash region
against the image) on its own; a mismatch is an error here. Every esptool failure becomes one line (FlashError)."""

import contextlib
import os
import sys
from pathlib import Path

import serial

from pintu.errors import PintuError

# MicroPython image offsets (MicroPython's ESP32 download pages): the bootloader sits at 0x1000 on ESP32 and ESP32-S2,
# at 0x0 on the newer chips. The image MicroPython publishes for each board starts with that bootloader.
OFFSETS = {"esp32": 0x1000, "esp32s2": 0x1000, "esp32s3": 0x0, "esp32c3": 0x0}
CHIPS = tuple(OFFSETS)
DEFAULT_BAUD = 460800
ROM_BAUD = 115200  # the ROM bootloader syncs at this rate; the stub then switches to --baud
IMAGE_MAGIC = 0xE9  # first byte of every ESP image (bootloader or app)


class FlashError(PintuError):
    """A flash that cannot go on or failed: shown as one line, exit 2."""


class FlashPlan:
    """What `pintu flash` will do, without touching a port: chip, offset, image, erase, baud."""

    def __init__(self, port, chip, image, erase=False, baud=DEFAULT_BAUD):
        if chip not in OFFSETS:
            raise FlashError("unknown chip %r (one of %s)" % (chip, ", ".join(CHIPS)))
        self.port = port
        self.chip = chip
        self.offset = OFFSETS[chip]
        self.image = str(image)
        self.erase = erase
        self.baud = baud

    def esptool_args(self):
        """The same work as esptool command lines (esptool v5 spelling), for the log and for a technician to rerun."""
        base = ["--chip", self.chip, "--port", self.port, "--baud", str(self.baud)]
        commands = [base + ["erase-flash"]] if self.erase else []
        commands.append(base + ["write-flash", "0x%x" % self.offset, self.image])
        return commands


def chip_name(chip):
    from esptool.targets import CHIP_DEFS

    return CHIP_DEFS[chip].CHIP_NAME


def check_image(path, chip):
    """The image must be a readable, non-empty ESP image built for `chip` (its header names the chip)."""
    from esptool.targets import CHIP_DEFS

    p = Path(path)
    if not p.exists():
        raise FlashError("image %s not found" % path)
    if not p.is_file():
        raise FlashError("image %s is not a file" % path)
    try:
        with open(p, "rb") as f:
            head = f.read(24)
    except OSError as e:
        raise FlashError("cannot read image %s: %s" % (path, e.strerror or e)) from None
    if not head:
        raise FlashError("image %s is empty" % path)
    if head[0] != IMAGE_MAGIC or len(head) < 24:
        raise FlashError("%s is not an ESP firmware image (download the .bin for your board from "
                         "micropython.org/download)" % path)
    image_chip = head[12] | head[13] << 8  # extended header: chip id
    for name, cls in CHIP_DEFS.items():
        if name in OFFSETS and cls.IMAGE_CHIP_ID == image_chip and name != chip:
            raise FlashError("%s is built for %s, not %s" % (path, cls.CHIP_NAME, chip_name(chip)))
    return p.stat().st_size


class Esptool:
    """The esptool v5 calls flash() makes (esptool.cmds); a test passes a fake with the same methods."""

    def detect(self, port, connect_attempts):
        from esptool.cmds import detect_chip

        return detect_chip(port, ROM_BAUD, connect_attempts=connect_attempts)

    def name(self, esp):
        return esp.CHIP_NAME

    def prepare(self, esp, baud):
        from esptool.cmds import attach_flash, run_stub

        esp = run_stub(esp)
        if baud != ROM_BAUD:
            esp.change_baud(baud)
        attach_flash(esp)
        return esp

    def erase(self, esp):
        from esptool.cmds import erase_flash

        erase_flash(esp)

    def write(self, esp, offset, image):
        from esptool.cmds import write_flash

        write_flash(esp, [(offset, image)])  # verifies the written region (MD5) before it returns

    def reset(self, esp):
        from esptool.cmds import reset_chip

        reset_chip(esp, "hard-reset")

    def close(self, esp):
        port = getattr(esp, "_port", None)
        if port is not None:
            port.close()


def explain(exc, port):
    """One line for an esptool or pyserial failure."""
    text = str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if isinstance(exc, StopIteration):
        return "the chip on %s stopped responding" % port
    if "Errno 2" in text or "No such file" in text:
        return "no such port %s (is the board plugged in?)" % port
    if "Permission denied" in text or "Errno 13" in text:
        return "permission denied on %s (add yourself to the dialout group, then log in again)" % port
    if "Errno 16" in text or "Resource busy" in text:
        return "%s is busy: close pintu serve, mpremote or a terminal using it" % port
    if "No serial data received" in text or "Failed to connect" in text or "Wrong boot mode" in text:
        return ("no ESP chip answers on %s (check the cable; hold BOOT while pressing RESET to enter the "
                "bootloader)" % port)
    if "MD5" in text or "Verification failed" in text or "written flash region is empty" in text:
        return "verification failed after writing: %s" % first
    if isinstance(exc, serial.SerialException | OSError):
        return "lost %s: %s" % (port, first)
    return "esptool: %s" % first


def flash(plan, esptool=None, connect_attempts=7, log=None):
    """Check the image, detect the chip (refusing a mismatch), erase if asked, write and verify, reset.
    -> dict(chip, offset, image, bytes, erased)."""
    from esptool.util import FatalError

    log = log or (lambda text: None)
    esptool = esptool or Esptool()
    size = check_image(plan.image, plan.chip)
    if "://" not in plan.port and not os.path.exists(plan.port):
        raise FlashError("no such port %s (is the board plugged in?)" % plan.port)
    failures = (FatalError, serial.SerialException, OSError, StopIteration)
    try:
        esp = esptool.detect(plan.port, connect_attempts)
    except failures as e:
        raise FlashError(explain(e, plan.port)) from None
    try:
        found = esptool.name(esp)
        if found != chip_name(plan.chip):
            raise FlashError("the board on %s is %s, not %s: nothing written" % (plan.port, found,
                                                                              chip_name(plan.chip)))
        log("found %s on %s" % (found, plan.port))
        esp = esptool.prepare(esp, plan.baud)
        if plan.erase:
            log("erasing flash")
            esptool.erase(esp)
        log("writing %s (%d bytes) at 0x%x" % (plan.image, size, plan.offset))
        esptool.write(esp, plan.offset, plan.image)
        esptool.reset(esp)
    except failures as e:
        raise FlashError(explain(e, plan.port)) from None
    finally:
        with contextlib.suppress(Exception):
            esptool.close(esp)
    return {"port": plan.port, "chip": found, "offset": "0x%x" % plan.offset, "image": plan.image, "bytes": size,
            "erased": plan.erase, "verified": True}


@contextlib.contextmanager
def esptool_output_to_stderr():
    """esptool prints its progress on stdout; a technician's terminal shows it, but stdout stays ours."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
