"""Broker addresses as operators, unit configs and tests write them: mqtt[s]://[USER[:PASSWORD]@]HOST[:PORT] or
HOST[:PORT]. The one parser for all of them (the gateway, unit provisioning, the simulator and the demo)."""

import ipaddress
import re
from collections import namedtuple
from urllib.parse import urlsplit

from pintu.errors import PintuError

MQTT_PORT = 1883
MQTTS_PORT = 8883  # MQTT over TLS (IANA)
SCHEMES = {"mqtt": MQTT_PORT, "mqtts": MQTTS_PORT}
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?"  # one DNS label (RFC 1123)
_HOST_NAME = re.compile(r"^%s(\.%s)*$" % (_LABEL, _LABEL))
_USAGE = "mqtt://HOST:PORT, mqtts://HOST:PORT or HOST:PORT"


class Broker(namedtuple("_Broker", ("host", "port", "user", "password"))):
    """(host, port, user, password), plus `tls`: True for mqtts://. tls is an attribute, not a fifth field, so
    every caller that unpacks four values (or compares with a 4-tuple) is unchanged."""

    tls = False


def is_host_name(text):
    """An RFC 1123 DNS name (what a unit's config, mosquitto.conf and a certificate's dNSName take)."""
    return isinstance(text, str) and len(text) <= 253 and bool(_HOST_NAME.match(text))


def parse_broker(text, default_scheme="mqtt"):
    """-> Broker(host, port, user or None, password or None) with .tls; host is an IP address or an RFC 1123 DNS
    name. default_scheme: what HOST[:PORT] without a scheme means ("mqtts" for a unit told to use TLS). Raises
    PintuError with one line for anything else: another scheme, a path or query, no host, a port outside 1..65535,
    spaces or control characters (a unit's config and mosquitto's files are line-based)."""
    text = "" if text is None else str(text)
    if not text or any(ch <= " " or ch == "\x7f" for ch in text):
        raise PintuError("bad broker address %r (%s)" % (text, _USAGE))
    try:
        parts = urlsplit(text if "://" in text else default_scheme + "://" + text)
        port = parts.port
    except ValueError:
        raise PintuError("bad broker port in %r (1-65535)" % text) from None
    if parts.scheme not in SCHEMES or not parts.hostname or parts.path not in ("", "/") or parts.query \
            or parts.fragment:
        raise PintuError("bad broker address %r (%s)" % (text, _USAGE))
    if port == 0:
        raise PintuError("bad broker port in %r (1-65535)" % text)
    host = parts.hostname
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:  # not an address: then a DNS name (a unit's config and mosquitto.conf take nothing else)
        if not is_host_name(host):
            raise PintuError("bad broker host in %r (an IP address or a DNS name)" % text) from None
    broker = Broker(host, port or SCHEMES[parts.scheme], parts.username, parts.password)
    broker.tls = parts.scheme == "mqtts"
    return broker
