"""A real Mosquitto broker for tests, on a free loopback port, started and stopped by the test itself."""

import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import require_program


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, up=True, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            if up:
                return True
        except OSError:
            if not up:
                return True
        time.sleep(0.05)
    raise TimeoutError("mosquitto on port %d did not %s" % (port, "start" if up else "stop"))


class Broker:
    """mosquitto -c CONF; restartable on the same port (persistence keeps queued QoS 1 messages)."""

    def __init__(self, conf_path, port, log_path, host="127.0.0.1", prefix=()):
        """host: where it listens; prefix: a command it runs under (tests/netns.py: another host's namespace)."""
        self.binary = require_program("mosquitto", "apt-get install mosquitto (make test does it as root)")
        self.conf_path = Path(conf_path)
        self.port = port
        self.log_path = Path(log_path)
        self.host = host
        self.prefix = list(prefix)
        self.proc = None

    @property
    def url(self):
        return "mqtt://%s:%d" % (self.host, self.port)

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.prefix + [self.binary, "-c", str(self.conf_path)], stdout=log, stderr=log)
        log.close()
        wait_port(self.port, host=self.host)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its persistence file on the way out
            self.proc.wait(timeout=10)
        self.proc = None

    def reload(self):
        """SIGHUP: re-read the password and ACL files (after a revocation)."""
        self.proc.send_signal(1)
        time.sleep(0.3)

    def restart(self):
        self.stop()
        self.start()


def plain_broker(tmp_path):
    """An open broker (no auth) for tests that are not about the broker's configuration."""
    port = free_port()
    conf = Path(tmp_path) / "mosquitto.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
    return Broker(conf, port, Path(tmp_path) / "mosquitto.log").start()
