"""The serial transport: one USB-serial port (or any pyserial URL) carrying stream-framed frames.

A unit that is unplugged and plugged back in is picked up again: the reader reopens the port until it answers."""

import logging
import termios
import threading

import serial

import pintu_protocol as p

log = logging.getLogger("pintu.serial")

READ_SIZE = 512  # bytes per read: bounds what one read hands the stream decoder


class SerialLink:
    """Reads frames from one port and hands each whole frame to on_frame(frame, reply), where reply(frame) writes
    an answer back to the same port. Line noise is counted in .noise, never passed on."""

    def __init__(self, url, on_frame, baudrate=115200, reopen_s=1.0):
        self.url = url
        self.on_frame = on_frame
        self.baudrate = baudrate
        self.reopen_s = reopen_s
        self.noise = 0
        self.opened = 0  # how many times the port was (re)opened
        self._said_closed = False  # "cannot open" is logged once per outage, not on every retry
        self._port = None
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def __repr__(self):
        return "SerialLink(%r)" % self.url

    def start(self):
        self._thread = threading.Thread(target=self._run, name="serial %s" % self.url, daemon=True)
        self._thread.start()
        return self

    def close(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._close_port()

    def send(self, frame, now=False):
        """Write one frame; False when the port is not open (the unit is unplugged). A serial write is always now or
        never (the link contract's now=True)."""
        port = self._port
        if port is None:
            return False
        try:
            with self._write_lock:
                port.write(p.encode_stream(frame))
                port.flush()
            return True
        except (serial.SerialException, OSError, termios.error) as e:
            # termios.error (not an OSError) is what tcdrain raises when the unit is unplugged mid-answer: it must
            # not end the reader thread, or the port would never be reopened
            log.warning("%s: write failed: %s", self.url, e)
            return False

    def _close_port(self):
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _open(self):
        try:
            port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.1, write_timeout=2)
        except (serial.SerialException, OSError, ValueError) as e:
            level = logging.DEBUG if self._said_closed else logging.WARNING
            log.log(level, "%s: cannot open (%s); retrying", self.url, e)
            self._said_closed = True
            return None
        self._said_closed = False
        self.opened += 1
        log.info("%s: open", self.url)
        return port

    def _run(self):
        while not self._stop.is_set():
            port = self._open()
            if port is None:
                self._stop.wait(self.reopen_s)
                continue
            self._port = port
            decoder = p.StreamDecoder()  # a fresh decoder per connection: no half frame carries over
            try:
                while not self._stop.is_set():
                    data = port.read(READ_SIZE)
                    if data:
                        decoder.feed(data)
                        for frame in decoder.frames(self._dropped):
                            self._hand_on(frame)
            except (serial.SerialException, OSError) as e:
                log.warning("%s: lost (%s); reopening", self.url, e)
            self._close_port()
            self._stop.wait(self.reopen_s)

    def _hand_on(self, frame):
        # Whatever the handler raises (a bug, an answer that cannot be written) ends that frame, never the reader:
        # a dead reader would leave the unit on this port unheard until the host restarts.
        try:
            self.on_frame(frame, self.send)
        except Exception:
            log.exception("%s: a frame's handling failed; the link goes on", self.url)

    def _dropped(self, error):
        self.noise += 1
        log.debug("%s: dropped: %s", self.url, error)
