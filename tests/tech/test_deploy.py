"""`pintu deploy` against a virtual board (real MicroPython behind socket://), then the deployed app's scan ->
VERDICT -> feedback cycle with `pintu serve` over the same line; and every way a deploy fails."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mpremote.transport_serial import SerialTransport

from pintu.checkin import events
from pintu.data.datadir import DataDir
from pintu.tech import board_repl, deploy, manifest, unit_files
from tests.gateway.conftest import make_office
from tests.mosquitto import free_port

PINTU = str(Path(sys.executable).parent / "pintu")
# protocol, umqtt, firmware but the TEST_ONLY files (test fakes stay home), board.json, pintu.json, main.py
UNIT = unit_files.locate()
EXPECTED = (len(list(UNIT.protocol.glob("*.py"))) + len(list((UNIT.lib / "umqtt").glob("*.py")))
            + len(list(UNIT.firmware.glob("*.py"))) - len(manifest.TEST_ONLY) + 3)


def pintu(data, *args, timeout=120):
    env = dict(os.environ, PINTU_DATA=str(data))
    return subprocess.run([PINTU, *args], capture_output=True, text=True, timeout=timeout, env=env)


def wait_outputs(board, want, timeout=45.0):
    """The recorded (device, value) pairs once `want` is among them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = [(d, v) for _t, d, v in board.control(cmd="outputs")["outputs"]]
        if want in seen:
            return seen
        time.sleep(0.1)
    raise TimeoutError("%r never shown; outputs %r" % (want, seen))


def wait_idle(board, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = board.control(cmd="status")
        if status["app"] and status["app"]["state"] == 0:
            return
        time.sleep(0.1)
    raise TimeoutError("the unit never went idle: %r" % status)


def test_board_files_are_what_the_firmware_expects(tmp_path):
    office = make_office(tmp_path / "data")
    office.data.close()
    cfg, path = manifest.device_config(office.path, "door-1")
    files = manifest.board_files(cfg, path.read_bytes())
    targets = [f.target for f in files]
    assert len(files) == len(set(targets))
    assert not {"/lib/firmware/" + name for name in manifest.TEST_ONLY} & set(targets)
    assert {"hw_fake.py", "fake_mqtt.py", "testbench.py"} <= set(manifest.TEST_ONLY)
    assert {"/main.py", "/board.json", "/pintu.json", "/lib/umqtt/simple.py", "/lib/pintu_protocol/session.py",
            "/lib/firmware/unit.py"} <= set(targets)
    assert targets[-1] == "/main.py"  # last: a deploy cut short does not boot a half app
    assert [f.data for f in files if f.target == "/pintu.json"] == [path.read_bytes()]
    assert len(files) == EXPECTED

    # The default: the modules under /lib as .mpy from mpy-cross; /main.py stays source (MicroPython runs /main.py).
    compiled = manifest.board_files(cfg, path.read_bytes(), compiled=True)
    mpy_targets = [f.target for f in compiled]
    assert mpy_targets == [t[:-3] + ".mpy" if t.startswith("/lib/") else t for t in targets]
    assert mpy_targets[-1] == "/main.py"
    main_py = (UNIT.firmware / "main.py").read_bytes()
    assert [f.data for f in compiled if f.target == "/main.py"] == [main_py]
    for f in compiled:
        if f.target.startswith("/lib/"):
            assert f.data[:2] == b"M\x06" and f.other == f.target[:-4] + ".py"
    # Deterministic: compiling again gives the same bytes, so the hash on the board says "unchanged".
    again = manifest.board_files(cfg, path.read_bytes(), compiled=True)
    assert [(f.target, f.sha256) for f in again] == [(f.target, f.sha256) for f in compiled]
    # The source name for tracebacks is the module's path under /lib, as bench/firmware_memory.py compiles it.
    app = next(f for f in compiled if f.target == "/lib/firmware/app.mpy")
    assert b"firmware/app.py" in app.data and str(UNIT.origin).encode() not in app.data


def _header():
    return manifest.compile_module(UNIT.firmware / "hw.py", "firmware/hw.py")[:4]


def test_mpy_compatibility_decides_the_form():
    header = _header()  # b"M\x06\x00\x1f": .mpy v6, bytecode only, 31-bit small ints
    assert header[:2] == b"M\x06" and header[2] == 0
    v6_3 = 6 | 3 << 8  # MicroPython 1.23 ... 1.27 (the virtual board says 774)
    assert manifest.choose_form(v6_3, header) == ("mpy", None)
    assert manifest.choose_form(6 | 1 << 8 | 10 << 10, header) == ("mpy", None)  # bytecode: the sub-version is ignored
    assert manifest.choose_form(v6_3, header, source=True) == ("py", None)
    form, warning = manifest.choose_form(5, header)  # MicroPython 1.12 ... 1.18
    assert form == "py" and warning.startswith("warning: installing .py sources")
    assert "the board loads .mpy v5.0, mpy-cross writes v6" in warning and "\n" not in warning
    form, warning = manifest.choose_form(None, header)  # a port without sys.implementation._mpy
    assert form == "py" and "does not report its .mpy version" in warning
    # Native code (arch bits set) must match the sub-version too, as MicroPython's loader checks.
    native = bytes([ord("M"), 6, 2 | 10 << 2, 31])
    assert manifest.mpy_compatible(v6_3, native)[0] is False
    assert manifest.mpy_compatible(6 | 2 << 8, native)[0] is True
    assert manifest.mpy_compatible(v6_3, b"Mx")[0] is False


class _FakeBoard:
    """Answers deploy's questions without a board: its .mpy version and no files."""

    def __init__(self, board_mpy):
        self.board_mpy = board_mpy
        self.reset = False

    def __call__(self, port, log=None):
        return self

    def mpy_version(self):
        return self.board_mpy

    def hashes(self, paths):
        return dict.fromkeys(paths)

    def soft_reset(self):
        self.reset = True

    def close(self):
        pass


@pytest.mark.parametrize("board_mpy", [6 | 3 << 8, 5, None])
def test_deploy_falls_back_to_sources_with_one_warning(tmp_path, board_mpy):
    office = make_office(tmp_path / "data")
    office.data.close()
    lines = []
    result = deploy.deploy(office.path, "door-1", "fake", dry_run=True, log=lines.append,
                           board_factory=_FakeBoard(board_mpy))
    lib = [t for t in result["would_copy"] if t.startswith("/lib/")]
    if board_mpy == 6 | 3 << 8:
        assert result["form"] == "mpy" and lines == []
        assert lib and all(t.endswith(".mpy") for t in lib)
    else:
        assert result["form"] == "py" and len(lines) == 1 and lines[0].startswith("warning: installing .py")
        assert lib and all(t.endswith(".py") for t in lib)
    assert "/main.py" in result["would_copy"] and result["would_remove"] == []


def test_deploy_then_scan_verdict_feedback_over_the_same_line(tmp_path, virtual_board):
    office = make_office(tmp_path / "data")
    office.data.close()
    n_files = len(manifest.board_files(*_cfg(office)))
    assert n_files == EXPECTED

    dry = pintu(office.path, "deploy", "--port", virtual_board.url, "--device", "door-1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would install compiled .mpy modules under /lib" in dry.stdout
    assert "would copy /lib/firmware/app.mpy" in dry.stdout
    assert "%d to copy, 0 unchanged, 0 to remove" % n_files in dry.stdout

    first = pintu(office.path, "deploy", "--port", virtual_board.url, "--device", "door-1", "--hello-timeout", "45")
    assert first.returncode == 0, first.stderr
    assert "warning" not in first.stderr
    assert "installed compiled .mpy modules under /lib" in first.stdout
    assert "copied %d file(s), 0 unchanged" % n_files in first.stdout
    assert "door-1 says HELLO: firmware" in first.stdout and "esp32-devkitc-gm65" in first.stdout
    files = set(virtual_board.control(cmd="files")["files"])
    assert {"/main.py", "/pintu.json", "/board.json", "/lib/firmware/app.mpy", "/lib/umqtt/simple.mpy"} <= files
    for package in ("/lib/firmware/", "/lib/pintu_protocol/", "/lib/umqtt/"):
        in_package = [f for f in files if f.startswith(package)]
        assert in_package and all(f.endswith(".mpy") for f in in_package), in_package
    assert "/main.mpy" not in files
    virtual_board.wait_mode("app")

    # The host takes the line over; a code under the virtual scanner goes SCAN -> VERDICT -> LEDs and relay.
    env = dict(os.environ, PINTU_DATA=office.path, PYTHONUNBUFFERED="1")
    serve = subprocess.Popen([PINTU, "serve", "--serial", virtual_board.url], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.0)
        assert virtual_board.control(cmd="scan", code=office.codes["budi"].decode()) == {"ok": True}
        seen = wait_outputs(virtual_board, ("led", "green"))
        wait_outputs(virtual_board, ("relay", 1))
        wait_idle(virtual_board)  # a code shown while the pattern plays is dropped, as at a real door
        virtual_board.control(cmd="scan", code=office.codes["andi"].decode())  # positive: BLACK, alarm
        seen = wait_outputs(virtual_board, ("led", "red"))
        assert seen.count(("relay", 1)) == 1  # the door opened for Budi only
    finally:
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=15)
    assert serve.returncode == 0, out
    assert "door-1: scan" in out and "-> GREEN" in out and "-> BLACK" in out
    with DataDir(office.path) as data:
        recorded = [(e["device"], e["verdict"]) for e in events.list_events(data, "kantor")]
    assert recorded == [("door-1", "BLACK"), ("door-1", "GREEN")]

    # Again while the app runs: the REPL escape gets the raw REPL; nothing changed, nothing copied.
    again = pintu(office.path, "deploy", "--port", virtual_board.url, "--device", "door-1", "--json",
                  "--hello-timeout", "45")
    assert again.returncode == 0, again.stderr
    assert "REPL escape" in again.stderr
    result = json.loads(again.stdout)
    assert result["copied"] == [] and len(result["unchanged"]) == n_files
    assert result["hello"]["board"] == "esp32-devkitc-gm65"
    virtual_board.wait_mode("app")


def _cfg(office):
    cfg, path = manifest.device_config(office.path, "door-1")
    return cfg, path.read_bytes()


def test_a_changed_config_is_the_only_file_copied(tmp_path, virtual_board):
    office = make_office(tmp_path / "data")
    office.data.close()
    first = deploy.deploy(office.path, "door-1", virtual_board.url, wait_hello=False)
    assert len(first["copied"]) == EXPECTED
    cfg_path = Path(office.path) / "devices" / "door-1.json"
    cfg_path.write_text(cfg_path.read_text().replace('"door": "lobby"', '"door": "lobby", "feedback_ms": 900'))
    second = deploy.deploy(office.path, "door-1", virtual_board.url)
    assert second["copied"] == ["/pintu.json"]
    assert second["hello"] is not None


def test_switching_from_sources_to_mpy_removes_the_stale_sources(tmp_path, virtual_board):
    office = make_office(tmp_path / "data")
    office.data.close()
    source = pintu(office.path, "deploy", "--port", virtual_board.url, "--device", "door-1", "--source",
                   "--hello-timeout", "45")
    assert source.returncode == 0, source.stderr
    assert "installed .py sources under /lib" in source.stdout and "door-1 says HELLO" in source.stdout
    files = set(virtual_board.control(cmd="files")["files"])
    lib = sorted(f for f in files if f.startswith("/lib/"))
    assert lib and all(f.endswith(".py") for f in lib) and "/lib/firmware/app.py" in lib

    dry = pintu(office.path, "deploy", "--port", virtual_board.url, "--device", "door-1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove /lib/firmware/app.py" in dry.stdout
    assert "%d to copy, 3 unchanged, %d to remove" % (len(lib), len(lib)) in dry.stdout

    compiled = pintu(office.path, "deploy", "--port", virtual_board.url, "--device", "door-1", "--json",
                     "--hello-timeout", "45")
    assert compiled.returncode == 0, compiled.stderr
    result = json.loads(compiled.stdout)
    assert result["form"] == "mpy" and result["hello"]["board"] == "esp32-devkitc-gm65"
    assert sorted(result["removed"]) == lib
    assert sorted(result["copied"]) == sorted(f[:-3] + ".mpy" for f in lib)
    assert sorted(result["unchanged"]) == ["/board.json", "/main.py", "/pintu.json"]
    files = set(virtual_board.control(cmd="files")["files"])
    assert sorted(f for f in files if f.startswith("/lib/")) == sorted(f[:-3] + ".mpy" for f in lib)

    # And back: --source removes the .mpy files it replaces.
    back = deploy.deploy(office.path, "door-1", virtual_board.url, source=True, wait_hello=False)
    assert sorted(back["removed"]) == sorted(f[:-3] + ".mpy" for f in lib)
    files = set(virtual_board.control(cmd="files")["files"])
    assert sorted(f for f in files if f.startswith("/lib/")) == lib


def test_no_port_unknown_device_and_no_raw_repl(tmp_path):
    office = make_office(tmp_path / "data")
    office.data.close()
    result = pintu(office.path, "deploy", "--port", str(tmp_path / "ttyNONE"), "--device", "door-1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["pintu: no such port %s (is the board plugged in?)"
                                                   % (tmp_path / "ttyNONE")]
    result = pintu(office.path, "deploy", "--port", "socket://127.0.0.1:1", "--device", "door-9")
    assert result.returncode == 2 and "no config for device 'door-9'" in result.stderr
    result = pintu(office.path, "deploy", "--port", "socket://127.0.0.1:%d" % free_port(), "--device", "door-1")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot open socket://" in result.stderr

    # Something that accepts the connection but never speaks MicroPython's raw REPL.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = "socket://127.0.0.1:%d" % silent.getsockname()[1]

        def quick(port, log=None):
            return board_repl.Board(port, repl_timeout=0.5, escape_timeout=1.0, log=log)

        with pytest.raises(deploy.DeployError, match="does not answer the raw REPL"):
            deploy.deploy(office.path, "door-1", url, board_factory=quick)


def test_a_write_that_fails_on_the_board_is_one_line(tmp_path, virtual_board):
    office = make_office(tmp_path / "data")
    office.data.close()
    transport = SerialTransport(virtual_board.url, timeout=2)
    transport.enter_raw_repl(soft_reset=False)
    transport.exec("f = open('/lib', 'w')\nf.write('not a folder')\nf.close()")  # /lib/... can never be created
    transport.close()
    with pytest.raises(deploy.DeployError) as err:
        deploy.deploy(office.path, "door-1", virtual_board.url)
    message = str(err.value)
    assert message.startswith("writing /lib/pintu_protocol/__init__.mpy failed on the board: OSError")
    assert "\n" not in message
