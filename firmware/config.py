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
        from firmware.link_mqtt import check_link  # a serial unit never loads the MQTT link's checks

        check_link(link, errors)
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
    return settings
