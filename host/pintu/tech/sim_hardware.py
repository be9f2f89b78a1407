"""The CPython adapters behind a simulated unit's hardware seam: real time, a real serial port or socket as its
serial link, real MQTT sockets for umqtt.simple, and SimHardware (fake scanner and outputs, real links).

The firmware package must be importable (simulator.py puts it on sys.path before importing this module)."""

import socket
import ssl
import sys
import time
import types

from firmware import hw
from firmware.hw_fake import FakeHardware
from pintu.tech.sim_configs import SimulatorError


class SimClock(hw.Clock):
    """Real time, plus now_ms (ms since start) for the recorder's timestamps."""

    def __init__(self):
        self._start = time.monotonic()

    @property
    def now_ms(self):
        return int((time.monotonic() - self._start) * 1000)


class SerialStream:
    """A pyserial port (device path or URL: socket://, loop://, rfc2217://) as the firmware's byte stream."""

    def __init__(self, port, baudrate=115200):
        import serial

        try:
            self._port = serial.serial_for_url(port, baudrate=baudrate, timeout=0, write_timeout=2)
        except (serial.SerialException, ValueError) as e:
            raise SimulatorError("cannot open %s: %s" % (port, e)) from None
        self.name = port
        self.connected = True

    def read(self):
        import serial

        try:
            waiting = self._port.in_waiting
            data = self._port.read(waiting or 1)
        except (serial.SerialException, OSError):
            self.connected = False
            return None
        return data or None

    def write(self, data):
        self._port.write(data)

    def close(self):
        self._port.close()


class _USocket:
    """A CPython socket with the MicroPython stream methods umqtt.simple calls (read, write, setblocking, settimeout,
    setsockopt). A timeout (seconds, None: none) bounds every blocking call, as on the board; setblocking(True) keeps
    it here, like the unix port (the ESP32 port clears it, which the vendored umqtt no longer relies on).
    wrap() puts TLS under the same methods (_SimTls)."""

    def __init__(self):
        self._sock = socket.socket()
        self._timeout = None
        self._blocking = True

    def connect(self, addr):
        self._sock.settimeout(self._timeout if self._timeout is not None else 5)
        self._sock.connect(addr)
        self._apply()

    def _apply(self):
        self._sock.settimeout(self._timeout if self._blocking else 0.0)

    def setblocking(self, flag):
        self._blocking = flag
        self._apply()

    def settimeout(self, seconds):
        self._timeout = seconds
        self._blocking = True
        self._apply()

    def setsockopt(self, level, option, value):
        self._sock.setsockopt(level, option, value)

    def wrap(self, context, server_hostname):
        """TLS over this connection with the firmware's own SSLContext (CPython's ssl, configured by
        firmware.link_mqtt.tls_context exactly as on a board): the handshake, bounded by the timeout, raises
        ssl.SSLCertVerificationError for a broker the CA did not sign."""
        self._sock = context.wrap_socket(self._sock, server_hostname=server_hostname)
        self._apply()

    def read(self, n):
        if not self._blocking:
            try:
                data = self._sock.recv(n)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):  # nothing yet (a TLS record: whole)
                return None
            return data
        buf = b""
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))  # socket.timeout (an OSError) after the timeout, as on a board
            if not chunk:
                return buf
            buf += chunk
        return buf

    def write(self, data, length=None):
        if isinstance(data, str):  # MicroPython streams take str too (umqtt writes the client id as one)
            data = data.encode()
        data = bytes(data if length is None else data[:length])
        self._sock.settimeout(self._timeout)
        try:
            self._sock.sendall(data)
        finally:
            self._apply()
        return len(data)

    def close(self):
        self._sock.close()


class _SimTls:
    """What umqtt.simple calls `ssl` on a board (an SSLContext with wrap_socket(sock, server_hostname)), for the
    CPython socket shim: the context itself is the firmware's."""

    def __init__(self, context):
        self.context = context

    def wrap_socket(self, usock, server_hostname=None):
        usock.wrap(self.context, server_hostname)
        return usock


def _install_umqtt_shims():
    """umqtt.simple imports usocket, ustruct and ubinascii: give CPython equivalents (only if not present)."""
    import binascii
    import struct

    if "usocket" not in sys.modules:
        usocket = types.ModuleType("usocket")
        usocket.socket = _USocket
        usocket.getaddrinfo = socket.getaddrinfo
        usocket.IPPROTO_TCP = socket.IPPROTO_TCP
        usocket.TCP_NODELAY = socket.TCP_NODELAY
        sys.modules["usocket"] = usocket
    sys.modules.setdefault("ustruct", struct)
    sys.modules.setdefault("ubinascii", binascii)


class SimHardware(FakeHardware):
    """Fake scanner and outputs, with a real serial stream or real MQTT sockets for the link."""

    def __init__(self, clock, recorder, module, stream=None, mqtt=None):
        super().__init__(clock, recorder, module, stream=stream)
        self._mqtt = mqtt  # (host, port) overriding the config's broker, or None

    def mqtt_client(self, client_id, host, port, user, password, keepalive, ssl=None):
        _install_umqtt_shims()
        from umqtt.simple import MQTTClient

        if self._mqtt:
            host, port = self._mqtt
        return MQTTClient(client_id, host, port, user, password, keepalive, ssl=_SimTls(ssl) if ssl else None)

    def mem_free(self):
        return 0
