"""`pintu flash`: arguments per chip, every refusal before the port is touched, every esptool failure as one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from esptool.util import FatalError

from pintu.tech import flash

PINTU = str(Path(sys.executable).parent / "pintu")
CHIP_IDS = {"esp32": 0, "esp32s2": 2, "esp32s3": 9, "esp32c3": 5}


def image(path, chip="esp32", size=4096):
    head = bytearray(24)
    head[0] = flash.IMAGE_MAGIC
    head[12] = CHIP_IDS[chip]
    path.write_bytes(bytes(head) + bytes(size - 24))
    return path


def run(*args):
    return subprocess.run([PINTU, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("chip", "offset"), [("esp32", 0x1000), ("esp32s2", 0x1000), ("esp32s3", 0x0),
                                              ("esp32c3", 0x0)])
def test_offsets_and_esptool_arguments_per_chip(chip, offset):
    plan = flash.FlashPlan("/dev/ttyUSB0", chip, "mp.bin", erase=True, baud=921600)
    assert plan.offset == offset
    assert plan.esptool_args() == [
        ["--chip", chip, "--port", "/dev/ttyUSB0", "--baud", "921600", "erase-flash"],
        ["--chip", chip, "--port", "/dev/ttyUSB0", "--baud", "921600", "write-flash", hex(offset), "mp.bin"],
    ]
    assert flash.FlashPlan("p", chip, "mp.bin").esptool_args()[0][-3] == "write-flash"  # no erase unless asked


class FakeEsptool:
    """The Esptool interface, recording calls; `chip` is what the port answers."""

    def __init__(self, chip="ESP32", fail=None):
        self.chip = chip
        self.fail = fail or {}
        self.calls = []

    def _step(self, name, *args):
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]

    def detect(self, port, attempts):
        self._step("detect", port)
        return "esp"

    def name(self, esp):
        return self.chip

    def prepare(self, esp, baud):
        self._step("prepare", baud)
        return esp

    def erase(self, esp):
        self._step("erase")

    def write(self, esp, offset, path):
        self._step("write", offset, path)

    def reset(self, esp):
        self._step("reset")

    def close(self, esp):
        self.calls.append(("close",))


def port(tmp_path):
    path = tmp_path / "ttyUSB0"
    path.touch()
    return str(path)


@pytest.mark.parametrize("chip", sorted(CHIP_IDS))
def test_detects_then_erases_writes_at_the_chip_offset_and_resets(tmp_path, chip):
    fake = FakeEsptool(flash.chip_name(chip))
    img = image(tmp_path / "mp.bin", chip)
    result = flash.flash(flash.FlashPlan(port(tmp_path), chip, img, erase=True), fake)
    assert [c[0] for c in fake.calls] == ["detect", "prepare", "erase", "write", "reset", "close"]
    assert fake.calls[3][1] == flash.OFFSETS[chip]
    assert result["verified"] and result["bytes"] == 4096


def test_a_different_chip_is_refused_before_anything_is_written(tmp_path):
    fake = FakeEsptool("ESP32-S3")
    with pytest.raises(flash.FlashError, match="is ESP32-S3, not ESP32: nothing written"):
        flash.flash(flash.FlashPlan(port(tmp_path), "esp32", image(tmp_path / "mp.bin")), fake)
    assert [c[0] for c in fake.calls] == ["detect", "close"]


def test_an_image_for_another_chip_is_refused_before_the_port_is_opened(tmp_path):
    fake = FakeEsptool()
    with pytest.raises(flash.FlashError, match="built for ESP32-C3, not ESP32"):
        flash.flash(flash.FlashPlan(port(tmp_path), "esp32", image(tmp_path / "c3.bin", "esp32c3")), fake)
    assert fake.calls == []


def test_a_verification_failure_is_one_line(tmp_path):
    fake = FakeEsptool(fail={"write": FatalError("MD5 of file does not match data in flash!")})
    with pytest.raises(flash.FlashError, match="^verification failed after writing: MD5"):
        flash.flash(flash.FlashPlan(port(tmp_path), "esp32", image(tmp_path / "mp.bin")), fake)


def test_bad_images(tmp_path, monkeypatch):
    plan_for = lambda path: flash.FlashPlan(port(tmp_path), "esp32", path)  # noqa: E731
    with pytest.raises(flash.FlashError, match="not found"):
        flash.flash(plan_for(tmp_path / "missing.bin"), FakeEsptool())
    with pytest.raises(flash.FlashError, match="is not a file"):
        flash.flash(plan_for(tmp_path), FakeEsptool())
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(flash.FlashError, match="is empty"):
        flash.flash(plan_for(tmp_path / "empty.bin"), FakeEsptool())
    (tmp_path / "text.bin").write_text("<html>404 not found</html>" * 10)
    with pytest.raises(flash.FlashError, match="not an ESP firmware image"):
        flash.flash(plan_for(tmp_path / "text.bin"), FakeEsptool())
    locked = image(tmp_path / "locked.bin")
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it would for anyone else

        def denied(path, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(flash, "open", denied, raising=False)
    with pytest.raises(flash.FlashError, match="cannot read image .*Permission denied"):
        flash.flash(plan_for(locked), FakeEsptool())


def test_a_pty_that_never_answers_is_no_chip(tmp_path):
    master, slave = os.openpty()
    try:
        plan = flash.FlashPlan(os.ttyname(slave), "esp32", image(tmp_path / "mp.bin"))
        with flash.esptool_output_to_stderr(), pytest.raises(flash.FlashError, match="^no ESP chip answers on"):
            flash.flash(plan, connect_attempts=1)
    finally:
        os.close(slave)
        os.close(master)


def test_esptool_messages_become_one_line():
    port = "/dev/ttyUSB0"
    opening = "Could not open %s, the port is busy or doesn't exist.\n(%s)\n\nHint: ...\n"
    denied = opening % (port, "[Errno 13] could not open port %s: [Errno 13] Permission denied: '%s'" % (port, port))
    missing = opening % (port, "[Errno 2] could not open port %s: [Errno 2] No such file or directory" % port)
    busy = opening % (port, "[Errno 16] could not exclusively lock port %s: [Errno 11] Resource busy" % port)
    assert flash.explain(FatalError(denied), port).startswith("permission denied on /dev/ttyUSB0")
    assert flash.explain(FatalError(missing), port).startswith("no such port /dev/ttyUSB0")
    assert flash.explain(FatalError(busy), port).startswith("/dev/ttyUSB0 is busy")
    assert flash.explain(StopIteration(), port) == "the chip on /dev/ttyUSB0 stopped responding"
    for text in (denied, missing, busy):
        assert "\n" not in flash.explain(FatalError(text), port)


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    img = image(tmp_path / "mp.bin")
    result = run("flash", "--port", str(tmp_path / "ttyNONE"), "--chip", "esp32", "--image", str(img))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["pintu: no such port %s (is the board plugged in?)"
                                                   % (tmp_path / "ttyNONE")]
    result = run("flash", "--port", "/dev/null", "--chip", "esp32s3", "--image", str(tmp_path / "nope.bin"))
    assert result.returncode == 2 and result.stderr.strip() == "pintu: image %s not found" % (tmp_path / "nope.bin")
    result = run("flash", "--port", "/dev/null", "--chip", "esp8266", "--image", str(img))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.hardware
def test_flash_a_real_board():
    """PINTU_PORT, PINTU_CHIP (default esp32) and PINTU_IMAGE (a MicroPython .bin for that board)."""
    img = os.environ.get("PINTU_IMAGE")
    if not img:
        pytest.skip("set PINTU_IMAGE to a MicroPython image for the board on PINTU_PORT")
    plan = flash.FlashPlan(os.environ["PINTU_PORT"], os.environ.get("PINTU_CHIP", "esp32"), img)
    result = flash.flash(plan)
    assert result["verified"]
