"""Broker addresses as operators, unit configs and tests write them: mqtt://[USER[:PASSWORD]@]HOST[:PORT] or
HOST[:PORT]. The one parser for all of them (the gateway, unit provisioning, the simulator and the demo)."""

import ipaddress
import re
from collections import namedtuple
from urllib.parse import urlsplit

from pintu.errors import PintuError

MQTT_PORT = 1883
Broker = namedtuple("Broker", ("host", "port", "user", "password"))
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?"  # one DNS label (RFC 1123)
_HOST_NAME = re.compile(r"^%s(\.%s)*$" % (_LABEL, _LABEL))


def parse_broker(text):
    """-> Broker(host, port, user or None, password or None); host is an IP address or an RFC 1123 DNS name. Raises
    PintuError with one line for anything else: another scheme, a path or query, no host, a port outside 1..65535,
    spaces or control characters (a unit's config and mosquitto's files are line-based)."""
    text = "" if text is None else str(text)
    if not text or any(ch <= " " or ch == "\x7f" for ch in text):
        raise PintuError("bad broker address %r (mqtt://HOST:PORT or HOST:PORT)" % text)
    try:
        parts = urlsplit(text if "://" in text else "mqtt://" + text)
        port = parts.port
    except ValueError:
        raise PintuError("bad broker port in %r (1-65535)" % text) from None
    if parts.scheme != "mqtt" or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise PintuError("bad broker address %r (mqtt://HOST:PORT or HOST:PORT)" % text)
    if port == 0:
        raise PintuError("bad broker port in %r (1-65535)" % text)
    host = parts.hostname
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:  # not an address: then a DNS name (a unit's config and mosquitto.conf take nothing else)
        if len(host) > 253 or not _HOST_NAME.match(host):
            raise PintuError("bad broker host in %r (an IP address or a DNS name)" % text) from None
    return Broker(host, port or MQTT_PORT, parts.username, parts.password)
