"""The Wi-Fi + MQTT link over umqtt.simple: one protocol frame per message, reconnection policy kept out of the client.

Topics (pintu_protocol.topics): up (unit -> host, QoS 1), down (host -> unit, subscribed QoS 1), status (retained
"online"; the broker publishes the retained last will "offline" when the unit drops). umqtt.simple sends no keepalive
pings itself, and does not resubscribe: both are done here.

No call here blocks the main loop for long: every socket call of the client is bounded by IO_TIMEOUT_MS (the vendored
umqtt.simple keeps that timeout where upstream's setblocking(True) cleared it on the ESP32 port; a QoS-1 publish waits
for its PUBACK through at most a few bounded reads), well under the watchdog and the verdict timeout. A call that
times out drops the connection: the scan in flight shows OFFLINE and stays queued (app.py), and the link reconnects
with backoff. TCP_NODELAY: a frame goes out at once instead of waiting for the broker's delayed ACK (~40 ms)."""

from firmware.clock import ticks_diff
from pintu_protocol.topics import DOWN, STATUS, UP, topic

_BACKOFF_MIN_MS = 1000
_BACKOFF_MAX_MS = 60000
_INBOX_MAX = 8  # frames held between two polls; the host sends one answer per unit frame
_MAX_READS = 8  # check_msg() calls per poll: bounded, so the scanner and feedback keep running
IO_TIMEOUT_MS = 500  # each socket call: a broker on the site's LAN answers in a few ms; the verdict timeout is 2 s


def check_link(link, errors):
    """Problems of an MQTT unit's link config appended to errors (config.validate hands them over: only MQTT units
    load this module)."""
    for field in ("wifi_ssid", "broker"):
        if not isinstance(link.get(field), str) or not link[field]:
            errors.append("link.%s is needed for mqtt" % field)
    if "tls" in link and ca_der(link["tls"]) is None:  # present means TLS: never read as "plain" by mistake
        errors.append("link.tls.ca must be a certificate (DER, base64)")
    port = link.get("port", 1883)
    if not isinstance(port, int) or not 0 < port < 65536:
        errors.append("link.port must be 1-65535")


def ca_der(tls):
    """link.tls = {"ca": base64 of the CA certificate's DER} -> the DER bytes, or None when it is not that."""
    ca = tls.get("ca") if isinstance(tls, dict) else None
    if not isinstance(ca, str) or not 64 <= len(ca) <= 4096:
        return None
    from binascii import a2b_base64  # only TLS units need it

    try:
        der = a2b_base64(ca)
    except ValueError:
        return None
    return der if der[:1] == b"\x30" else None  # an ASN.1 SEQUENCE, as every certificate is



def tls_context(ca):
    """The SSLContext of a TLS unit: verify the broker's certificate against the site's CA (DER bytes), for the host
    name in the unit's config (umqtt passes it as server_hostname). Raises OSError on a MicroPython whose ssl
    module has no SSLContext: such a port cannot verify, and a unit told to use TLS never connects without it."""
    import ssl

    if not hasattr(ssl, "SSLContext"):
        raise OSError("no ssl.SSLContext on this MicroPython: cannot verify the broker")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # MicroPython's ssl.py makes CERT_NONE the default of every SSLContext (micropython-lib python-stdlib/ssl):
    # without this line a unit would talk to anyone holding any certificate.
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca)
    return ctx


class MqttLink:
    """client_factory() returns a fresh umqtt.simple-like client (connect, set_last_will, set_callback, subscribe,
    publish, check_msg, ping, disconnect); wifi is an object with connect() and isconnected(), or None."""

    def __init__(self, client_factory, clock, site, device_id, keepalive_s=60, wifi=None):
        self._factory = client_factory
        self._clock = clock
        self._wifi = wifi
        # bytes: umqtt.simple hands topics over as bytes, so the down topic compares without decoding
        self.up_topic = topic(site, device_id, UP).encode()
        self.down_topic = topic(site, device_id, DOWN).encode()
        self.status_topic = topic(site, device_id, STATUS).encode()
        self._keepalive_ms = keepalive_s * 1000
        self._client = None
        self._inbox = []
        self._backoff = 0
        self._wait_from = clock.ticks_ms()
        self._last_ping = 0
        self.connects = 0
        self.failures = 0
        self.last_error = ""

    @property
    def connected(self):
        return self._client is not None

    def _on_message(self, topic, msg):
        if topic == self.down_topic and len(self._inbox) < _INBOX_MAX:
            self._inbox.append(bytes(msg))

    def _connect(self):
        client = self._factory()
        client.timeout = IO_TIMEOUT_MS / 1000
        client.nodelay = True
        client.set_callback(self._on_message)
        client.set_last_will(self.status_topic, b"offline", retain=True, qos=1)
        client.connect()
        try:
            client.publish(self.status_topic, b"online", retain=True, qos=1)
            client.subscribe(self.down_topic, qos=1)  # every connect: a clean session forgets subscriptions
        except Exception:
            self._close(client)
            raise
        self._client = client
        self._last_ping = self._clock.ticks_ms()
        self._backoff = 0
        self.connects += 1

    def _close(self, client):
        try:
            client.sock.close()
        except Exception:  # already broken: nothing more to do
            pass

    def _lost(self, error):
        self.last_error = "%s %s" % (type(error).__name__, error)
        if self._client is not None:
            self._close(self._client)
        self._client = None
        self.failures += 1
        self._backoff = min(_BACKOFF_MAX_MS, max(_BACKOFF_MIN_MS, self._backoff * 2))
        self._wait_from = self._clock.ticks_ms()

    def tick(self):
        now = self._clock.ticks_ms()
        if self._client is None:
            if self._wifi is not None and not self._wifi.isconnected():
                self._wifi.connect()
                return
            if self._backoff and ticks_diff(now, self._wait_from) < self._backoff:
                return
            try:
                self._connect()
            except Exception as e:  # OSError, MQTTException, a refused CONNACK (AssertionError in umqtt)
                self._lost(e)
            return
        if ticks_diff(now, self._last_ping) >= self._keepalive_ms // 2:
            try:
                self._client.ping()
                self._last_ping = now
            except Exception as e:
                self._lost(e)

    def poll(self):
        if self._client is not None:
            try:
                for _ in range(_MAX_READS):
                    before = len(self._inbox)
                    if self._client.check_msg() is None and len(self._inbox) == before:
                        break
            except Exception as e:
                self._lost(e)
        frames = self._inbox
        self._inbox = []
        return frames

    def send(self, frame):
        if self._client is None:
            return False
        try:
            self._client.publish(self.up_topic, frame, qos=1)
        except Exception as e:
            self._lost(e)
            return False
        self._last_ping = self._clock.ticks_ms()  # any packet counts as activity for the keepalive
        return True

    def close(self):
        if self._client is not None:
            try:
                self._client.publish(self.status_topic, b"offline", retain=True, qos=1)
                self._client.disconnect()
            except Exception:  # leaving anyway; the broker publishes the last will
                pass
            self._client = None
