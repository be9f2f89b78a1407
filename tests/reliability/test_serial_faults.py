"""Serial faults under load: `pintu serve --serial` on real ptys, units running the real firmware under CPython.
Line noise injected, a unit unplugged in the middle of a frame and plugged back, the host killed and restarted while
the units keep scanning. Afterwards every scan a unit showed is recorded once and occupancy matches the log."""

import os
import select
import threading
import time
import tty

import pintu_protocol as p
from pintu.tech.simulator import SimulatedUnit
from tests.reliability.harness import Driver, Office, Serve, audit, settle, wait_for


class PtyStream:
    """The unit's end of a USB cable: the master side of a pty whose slave the host opens through a symlink
    (like /dev/ttyACM0). unplug() closes it (the host's reads fail); plug() makes a new one at the same path."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.fd = self.slave = None
        self.plug()

    def plug(self):
        with self.lock:
            fd, slave = os.openpty()
            tty.setraw(slave)
            if os.path.lexists(self.path):
                os.unlink(self.path)
            os.symlink(os.ttyname(slave), self.path)
            self.fd, self.slave = fd, slave

    def unplug(self, half_frame=b""):
        with self.lock:
            if half_frame:
                os.write(self.fd, half_frame)  # the cable goes in the middle of a frame
            os.unlink(self.path)
            os.close(self.slave)
            os.close(self.fd)
            self.fd = self.slave = None

    @property
    def connected(self):
        return self.fd is not None

    def read(self):
        with self.lock:
            if self.fd is None:
                return None
            ready, _, _ = select.select([self.fd], [], [], 0)
            if not ready:
                return None
            try:
                return os.read(self.fd, 4096) or None
            except OSError:
                return None

    def write(self, data):
        with self.lock:
            if self.fd is None:
                raise OSError("unplugged")
            os.write(self.fd, data)

    def noise(self, data):
        self.write(data)

    def close(self):
        if self.fd is not None:
            self.unplug()


def test_noise_unplug_mid_frame_and_host_restart_while_units_scan(tmp_path):
    office = Office(tmp_path / "data", persons=20, units_in=2, units_out=1, link="serial")
    streams, units = [], []
    for i, cfg in enumerate(office.configs):
        cfg = dict(cfg, link={"kind": "serial", "repl_escape": False})
        stream = PtyStream(str(tmp_path / ("ttyACM%d" % i)))
        streams.append(stream)
        units.append(SimulatedUnit(cfg, stream))
    args = []
    for stream in streams:
        args += ["--serial", stream.path]
    serve = Serve(office.path, args, tmp_path / "serve.log").start()
    try:
        for unit in units:
            unit.start()
        time.sleep(1.0)
        driver = Driver(units, office.codes, 24).start()
        assert wait_for(lambda: driver.sent >= 5, 60)
        for _ in range(5):  # line noise between (and into) frames: boot banners, garbage, stray delimiters
            streams[0].noise(b"ets Jun  8 2016 00:22:57\r\n\x00\xff\xfe\x00garbage\x00" + os.urandom(64))
            time.sleep(0.2)
        # Unplugged in the middle of a frame, plugged back a second later.
        frame = p.encode_stream(p.Session(office.configs[1]["device_id"], bytes(32), p.UNIT).send(
            p.Hello("1", "b", b"")))
        streams[1].unplug(half_frame=frame[: len(frame) // 2])
        time.sleep(1.0)
        streams[1].plug()
        assert wait_for(lambda: driver.sent >= 12, 90)
        serve.kill()  # the host dies while the units keep scanning
        before = driver.sent
        wait_for(lambda: driver.sent >= before + 2 or driver.done(), 30)
        serve.start()
        assert driver.join(timeout=180)
        assert settle(units, timeout=90), [u.status() for u in units]
    finally:
        for unit in units:
            unit.stop()
        code = serve.stop()
        for stream in streams:
            stream.close()
    figures = audit(office.path, units)
    log = serve.log()
    assert code == 0 and "Traceback" not in log, log
    keys = ("lost", "mismatched", "phantom", "doubled", "occupancy_off", "offline_admit")
    assert {k: figures[k] for k in keys} == dict.fromkeys(keys, 0), figures
    assert figures["events_stored"] == figures["scans_made"] == 24
    assert driver.unanswered == 0 and all(u.app.queue.dropped == 0 for u in units)
    assert "lost" in log or "reopening" in log or "open" in log  # the host saw the unplug and reopened
