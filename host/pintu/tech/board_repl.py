"""A MicroPython board in the raw REPL, for `pintu deploy`: read file hashes, write and remove files, soft-reset, and
wait for the unit's first authenticated HELLO.

Getting the raw REPL: while the app runs on a serial unit, the console carries frames and Ctrl-C is off. mpremote's
Ctrl-C works in the boot window (opening the port resets many boards); if the board does not answer, the REPL escape
(three Ctrl-C outside a frame: the unit reboots into maintenance mode) is sent and the raw REPL tried again.

File checks run on the board with errno-agnostic code (try/except OSError), not mpremote's fs_stat: ports differ in
their errno numbers (the WebAssembly port's ENOENT is 44, which mpremote does not map)."""

import ast
import contextlib
import io
import os
import time

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

import pintu_protocol as p
from pintu.tech.manifest import DeployError

ESCAPE = b"\x00\x03\x03\x03"  # a frame delimiter, then three Ctrl-C: firmware/README.md, "Getting the REPL back"
CHUNK = 1024  # bytes per write command in the raw REPL
HELLO_TIMEOUT_S = 15.0  # a board's 2 s boot window, scanner configuration and link start


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
