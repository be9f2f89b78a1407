"""The virtual board: real MicroPython (WebAssembly port, node) behind a TCP socket, reached as socket://."""

import json
import select
import socket
import subprocess
import time

import pytest

from tests.conftest import ROOT, require_micropython

BOARD_SCRIPT = ROOT / "tests" / "mpy" / "board.mjs"
INJECT = (ROOT / "tests" / "mpy" / "virtual_board.py", ROOT / "firmware" / "hw_fake.py")


class VirtualBoard:
    """tests/mpy/board.mjs as a process: url for mpremote / pintu deploy / pintu serve, control() for the test."""

    def __init__(self, node):
        cmd = [node, str(BOARD_SCRIPT)]
        for path in INJECT:
            cmd += ["--inject", str(path)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("board "):
            self.close()
            raise RuntimeError("virtual board did not start: %r %s" % (line, self.proc.stderr.read()))
        fields = dict(part.split("=") for part in line.split()[1:])
        self.port = int(fields["serial"])
        self.url = "socket://127.0.0.1:%d" % self.port
        self._ctl = socket.create_connection(("127.0.0.1", int(fields["control"])), timeout=10)
        self._ctl_file = self._ctl.makefile("rw")

    def control(self, **cmd):
        self._ctl_file.write(json.dumps(cmd) + "\n")
        self._ctl_file.flush()
        return json.loads(self._ctl_file.readline())

    def wait_mode(self, mode, timeout=45.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.control(cmd="status")
            if status["mode"] == mode:
                return status
            time.sleep(0.1)
        raise TimeoutError("virtual board not in %s mode: %r" % (mode, status))

    def close(self):
        try:
            self._ctl.close()
        except AttributeError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def virtual_board():
    board = VirtualBoard(require_micropython())
    yield board
    board.close()
