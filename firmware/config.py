"""The unit's one config file (pintu.json, written by the host's provisioning): loading and validation at boot."""

import json

from pintu_protocol import valid_device_id

# Tunables a provisioned file may set and a CONFIG message may change: (default, smallest, largest).
TUNABLES = {
    "verdict_timeout_ms": (3000, 300, 30000),
    "feedback_ms": (1500, 300, 10000),  # how long the final colour of a verdict pattern holds
    "relay_ms": (1500, 100, 10000),
    "repeat_ms": (5000, 0, 60000),  # the same code again within this window is ignored
    "heartbeat_s": (30, 5, 3600),
    "offline_queue": (1, 0, 1),
    "queue_max": (64, 1, 1000),  # records kept on flash while offline
    "max_code": (1200, 16, 1200),  # longest code accepted from the scanner (the protocol's MAX_CODE)
}


class ConfigError(Exception):
    """The config (or board) is missing or wrong: the unit shows the config_error pattern and does nothing else."""


def _text(cfg, key, longest, errors, is_id=False):
    """is_id: a device or site id, which travels in frames and MQTT topics ([A-Za-z0-9._-], as the protocol says)."""
    value = cfg.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        errors.append("%s must be text of 1-%d characters" % (key, longest))
        return
    if is_id and not valid_device_id(value):
        errors.append("%s has a character that is not allowed" % key)
        return
    for c in value:
        if not " " <= c <= "~":
            errors.append("%s has a character that is not allowed" % key)
            return


def _ca(tls):
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


def validate(cfg):
    """Problems with a parsed config (empty list when it is usable)."""
    if not isinstance(cfg, dict):
        return ["not a JSON object"]
    errors = []
    _text(cfg, "device_id", 32, errors, True)
    _text(cfg, "site", 32, errors, True)
    _text(cfg, "door", 32, errors)
    _text(cfg, "board", 32, errors)
    key = cfg.get("key")
    if not isinstance(key, str) or len(key) != 64:
        errors.append("key must be 64 hex digits")
    else:
        try:
            bytes.fromhex(key)
        except ValueError:
            errors.append("key must be 64 hex digits")
    if cfg.get("direction") not in ("in", "out"):
        errors.append("direction must be in or out")
    link = cfg.get("link")
    if not isinstance(link, dict) or link.get("kind") not in ("serial", "mqtt"):
        errors.append("link.kind must be serial or mqtt")
    elif link["kind"] == "mqtt":
        for field in ("wifi_ssid", "broker"):
            if not isinstance(link.get(field), str) or not link[field]:
                errors.append("link.%s is needed for mqtt" % field)
        if "tls" in link and _ca(link["tls"]) is None:  # present means TLS: never read as "plain" by mistake
            errors.append("link.tls.ca must be a certificate (DER, base64)")
        port = link.get("port", 1883)
        if not isinstance(port, int) or not 0 < port < 65536:
            errors.append("link.port must be 1-65535")
    for name, (_default, low, high) in TUNABLES.items():
        value = cfg.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
            errors.append("%s must be an integer %d-%d" % (name, low, high))
    return errors


def parse(raw):
    """Bytes of pintu.json -> a settings dict with the key as bytes and every tunable filled in."""
    if raw is None:
        raise ConfigError("no config file")
    try:
        cfg = json.loads(raw.decode())
    except (ValueError, UnicodeError):
        raise ConfigError("config is not JSON") from None
    errors = validate(cfg)
    if errors:
        raise ConfigError("; ".join(errors))
    settings = dict(cfg)
    settings["key"] = bytes.fromhex(cfg["key"])
    settings["direction"] = 0 if cfg["direction"] == "in" else 1
    bounds = {}
    for name, (default, low, high) in TUNABLES.items():
        settings.setdefault(name, default)
        bounds[name] = (low, high)
    settings["bounds"] = bounds  # for CONFIG messages, so the app needs no config module after boot
    if "tls" in cfg["link"]:
        link = dict(cfg["link"], ca=_ca(cfg["link"]["tls"]))
        del link["tls"]  # the base64 text (~580 bytes) is not kept beside the DER the unit verifies with
        settings["link"] = link
    return settings
