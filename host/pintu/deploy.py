"""`pintu deploy`: copy the door-unit application and one unit's config to a MicroPython board through mpremote's
raw REPL, skipping files whose hash already matches, then reset the board and wait for the unit's HELLO.

What goes where (firmware/README.md, "Files on the board"):

    firmware/main.py                 -> /main.py
    firmware/*.py (not hw_fake.py)   -> /lib/firmware/      hw_fake.py holds test fakes: no board needs them
    protocol/pintu_protocol/*.py     -> /lib/pintu_protocol/
    firmware/lib/umqtt/*.py          -> /lib/umqtt/
    boards/<board>.json              -> /board.json         the board named in the unit's config
    DATA/devices/<id>.json           -> /pintu.json         the unit's config, with its key

Getting the raw REPL: while the app runs on a serial unit, the console carries frames and Ctrl-C is off. mpremote's
Ctrl-C works in the boot window (opening the port resets many boards); if the board does not answer, deploy sends
the REPL escape (three Ctrl-C outside a frame: the unit reboots into maintenance mode) and tries again.

File checks run on the board with errno-agnostic code (try/except OSError), not mpremote's fs_stat: ports differ in
their errno numbers (the WebAssembly port's ENOENT is 44, which mpremote does not map)."""

import ast
import contextlib
import hashlib
import io
import json
import os
import time
from pathlib import Path

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

import pintu_protocol as p

from .errors import PintuError

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = ROOT / "firmware"
PROTOCOL_DIR = ROOT / "protocol" / "pintu_protocol"
UMQTT_DIR = ROOT / "firmware" / "lib" / "umqtt"
BOARDS_DIR = ROOT / "boards"
TEST_ONLY = ("hw_fake.py",)  # fakes for tests and the simulator; a board never imports them
ESCAPE = b"\x00\x03\x03\x03"  # a frame delimiter, then three Ctrl-C: firmware/README.md, "Getting the REPL back"
CHUNK = 1024  # bytes per write command in the raw REPL
HELLO_TIMEOUT_S = 15.0  # a board's 2 s boot window, scanner configuration and link start


class DeployError(PintuError):
    """A deploy that cannot go on: no port, no raw REPL, a write that failed, no HELLO."""


class BoardFile:
    """One file for the board: where it goes, its bytes and their SHA-256."""

    def __init__(self, target, data, source):
        self.target = target
        self.data = data
        self.source = source
        self.sha256 = hashlib.sha256(data).hexdigest()

    def __repr__(self):
        return "BoardFile(%r, %d bytes)" % (self.target, len(self.data))


def device_config(data_path, device_id):
    """The unit's config as written by `pintu device add` (DATA/devices/<id>.json). -> (dict, path)."""
    path = Path(data_path) / "devices" / (device_id + ".json")
    try:
        cfg = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeployError("no config for device %r (%s): register it with pintu device add"
                          % (device_id, path)) from None
    except (OSError, ValueError) as e:
        raise DeployError("cannot read %s: %s" % (path, e)) from None
    if not isinstance(cfg, dict) or cfg.get("device_id") != device_id or "board" not in cfg:
        raise DeployError("%s is not a unit config for %r" % (path, device_id))
    return cfg, path


def board_files(cfg, config_bytes):
    """Every file the board needs, in copy order (the app's entry point last, so a half deploy does not boot)."""
    files = []

    def add(target, path):
        files.append(BoardFile(target, Path(path).read_bytes(), str(Path(path).relative_to(ROOT))))

    for path in sorted(PROTOCOL_DIR.glob("*.py")):
        add("/lib/pintu_protocol/" + path.name, path)
    for path in sorted(UMQTT_DIR.glob("*.py")):
        add("/lib/umqtt/" + path.name, path)
    for path in sorted(FIRMWARE_DIR.glob("*.py")):
        if path.name not in TEST_ONLY:
            add("/lib/firmware/" + path.name, path)
    board = BOARDS_DIR / ("%s.json" % cfg["board"])
    if not board.exists():
        raise DeployError("the config names board %r, but boards/ has no %s" % (cfg["board"], board.name))
    add("/board.json", board)
    files.append(BoardFile("/pintu.json", config_bytes, "devices/%s.json" % cfg["device_id"]))
    add("/main.py", FIRMWARE_DIR / "main.py")
    return files


# Runs on the board: SHA-256 of each path (None when missing), printed as one dict.
_HASH_CODE = """import hashlib, binascii
def _h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(b if n == 512 else b[:n])
    f.close()
    return binascii.hexlify(h.digest()).decode()
print(repr(dict((p, _h(p)) for p in %r)))
"""

_MKDIR_CODE = """import os
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
"""


class Board:
    """A MicroPython board in the raw REPL over mpremote's SerialTransport (device path or any pyserial URL)."""

    def __init__(self, port, baudrate=115200, repl_timeout=3.0, escape_timeout=10.0, log=None):
        self.port = port
        self.log = log or (lambda text: None)
        self.transport = _open(port, baudrate)
        try:
            self._enter_raw_repl(repl_timeout, escape_timeout)
        except BaseException:
            self.close()
            raise

    def _enter_raw_repl(self, repl_timeout, escape_timeout):
        if self._try_raw_repl(repl_timeout):
            return
        # The app is running (the console carries frames, Ctrl-C is off): ask it for the REPL.
        self.log("no REPL; sending the REPL escape (the unit reboots into maintenance mode)")
        self.transport.serial.write(ESCAPE)
        deadline = time.monotonic() + escape_timeout
        while time.monotonic() < deadline:
            if self._try_raw_repl(min(3.0, max(0.5, deadline - time.monotonic()))):
                return
        raise DeployError("the board on %s does not answer the raw REPL (is MicroPython flashed? pintu flash)"
                          % self.port)

    def _try_raw_repl(self, timeout):
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it read on failure
                self.transport.enter_raw_repl(soft_reset=False, timeout_overall=timeout)
            return True
        except TransportError:
            return False
        except (serial.SerialException, OSError) as e:
            raise DeployError("lost %s: %s" % (self.port, e)) from None

    def exec(self, code, what):
        try:
            return self.transport.exec(code)
        except TransportError as e:
            detail = str(e).strip().splitlines()
            raise DeployError("%s failed on the board: %s" % (what, detail[-1] if detail else e)) from None
        except (serial.SerialException, OSError) as e:
            raise DeployError("%s failed: lost %s: %s" % (what, self.port, e)) from None

    def hashes(self, paths):
        out = self.exec(_HASH_CODE % (list(paths),), "reading the board's files")
        try:
            return ast.literal_eval(out.decode().strip())
        except (ValueError, SyntaxError, UnicodeError):
            raise DeployError("unexpected answer from the board: %r" % out[:80]) from None

    def write(self, target, data):
        folders = []
        parts = target.strip("/").split("/")[:-1]
        for i in range(len(parts)):
            folders.append("/" + "/".join(parts[: i + 1]))
        if folders:
            self.exec(_MKDIR_CODE % (folders,), "creating %s" % folders[-1])
        tmp = target + ".tmp"
        self.exec("f = open(%r, 'wb')\nw = f.write" % tmp, "writing %s" % target)
        for i in range(0, len(data), CHUNK):
            self.exec("w(%r)" % bytes(data[i : i + CHUNK]), "writing %s" % target)
        self.exec("f.close()\nimport os\nos.rename(%r, %r)" % (tmp, target), "writing %s" % target)

    def soft_reset(self):
        """Leave the raw REPL and soft-reset from the friendly REPL: the board runs /main.py, as after power-on."""
        try:
            self.transport.exit_raw_repl()
            time.sleep(0.1)
            self.transport.serial.write(b"\x04")
        except (serial.SerialException, OSError) as e:
            raise DeployError("reset failed: lost %s: %s" % (self.port, e)) from None

    def wait_hello(self, device_id, key, timeout=HELLO_TIMEOUT_S):
        """The unit's first HELLO after the reset, authenticated with its key. -> p.Hello."""
        session = p.Session(device_id, key, p.HOST)
        decoder = p.StreamDecoder()
        port = self.transport.serial
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                waiting = port.in_waiting
                data = port.read(waiting or 1)
            except (serial.SerialException, OSError) as e:
                raise DeployError("lost %s while waiting for HELLO: %s" % (self.port, e)) from None
            if not data:
                time.sleep(0.02)
                continue
            decoder.feed(data)
            while True:
                try:
                    frame = decoder.next_frame()
                except p.FramingError:
                    continue  # boot messages and the REPL's text before the first frame
                if frame is None:
                    break
                try:
                    msg = session.receive(frame)
                except p.ProtocolError:
                    continue
                if isinstance(msg, p.Hello):
                    return msg
        raise DeployError("no HELLO from %s within %.0f s after the reset (check the unit's LEDs: config_error "
                          "means the config or board file is wrong)" % (device_id, timeout))

    def close(self):
        try:
            self.transport.close()
        except (serial.SerialException, OSError):
            pass


def _open(port, baudrate):
    if "://" not in port and not os.path.exists(port):
        raise DeployError("no such port %s (is the board plugged in?)" % port)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return SerialTransport(port, baudrate=baudrate, timeout=2)
    except TransportError:
        pass
    try:  # mpremote says only "failed to access": ask pyserial why
        serial.serial_for_url(port, baudrate=baudrate, timeout=0).close()
        reason = "busy?"
    except (serial.SerialException, OSError, ValueError) as e:
        reason = str(e)
        if "Permission denied" in reason or "Errno 13" in reason:
            reason = "permission denied (add yourself to the dialout group)"
    raise DeployError("cannot open %s: %s" % (port, reason))


def deploy(data_path, device_id, port, dry_run=False, wait_hello=True, hello_timeout=HELLO_TIMEOUT_S,
           log=None, board_factory=Board):
    """Copy what the unit needs to the board on `port`. -> dict(copied=[targets], unchanged=[targets], hello=...).
    dry_run: compare only; nothing is written and the board is not reset."""
    log = log or (lambda text: None)
    cfg, path = device_config(data_path, device_id)
    files = board_files(cfg, path.read_bytes())
    board = board_factory(port, log=log)
    try:
        on_board = board.hashes([f.target for f in files])
        changed = [f for f in files if on_board.get(f.target) != f.sha256]
        unchanged = [f for f in files if on_board.get(f.target) == f.sha256]
        result = {"device": device_id, "port": port, "copied": [], "unchanged": [f.target for f in unchanged],
                  "hello": None, "dry_run": dry_run}
        if dry_run:
            result["would_copy"] = [f.target for f in changed]
            board.soft_reset()  # leave it running its app, if it has one, as it was found
            return result
        for f in changed:
            log("copy %s -> %s (%d bytes)" % (f.source, f.target, len(f.data)))
            board.write(f.target, f.data)
            result["copied"].append(f.target)
        if changed:
            after = board.hashes([f.target for f in changed])
            bad = [f.target for f in changed if after.get(f.target) != f.sha256]
            if bad:
                raise DeployError("the board's copy of %s does not match (flash full?)" % ", ".join(bad))
        board.soft_reset()
        if wait_hello:
            hello = board.wait_hello(device_id, bytes.fromhex(cfg["key"]), hello_timeout)
            result["hello"] = {"firmware": hello.firmware, "board": hello.board}
        return result
    finally:
        board.close()
