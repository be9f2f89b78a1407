"""Simulated units' keys and configs: deterministic keys per device id, the configs `pintu simulate` makes up (the
same JSON the host's provisioning writes) or reads, MQTT URLs and code files. Used by the simulator (simulator.py)."""

import hashlib
import json
from pathlib import Path

DEFAULT_BOARD = "esp32-devkitc-gm65"
DEFAULT_KEY_SEED = b"pintu-simulator"


class SimulatorError(Exception):
    """A simulation that cannot be set up (bad config, missing port, unknown board)."""


# -- keys and configs --------------------------------------------------------------------------------------------------


def device_key(device_id, seed=DEFAULT_KEY_SEED):
    """A deterministic 32-byte key per simulated device, so a test host can know it without provisioning."""
    return hashlib.sha256(seed + b"/" + device_id.encode()).digest()


def make_configs(n, site="demo", door="main", board=DEFAULT_BOARD, link="serial", mqtt=None, prefix="sim",
                 seed=DEFAULT_KEY_SEED, directions=("in",)):
    """n unit configs (the same JSON the host's provisioning writes), device ids prefix-1..prefix-n."""
    configs = []
    for i in range(1, n + 1):
        device_id = "%s-%d" % (prefix, i)
        cfg = {
            "device_id": device_id,
            "key": device_key(device_id, seed).hex(),
            "site": site,
            "door": door,
            "direction": directions[(i - 1) % len(directions)],
            "board": board,
            "link": {"kind": "serial"},
        }
        if link == "mqtt":
            host, port = parse_mqtt_url(mqtt or "mqtt://127.0.0.1:1883")
            cfg["link"] = {"kind": "mqtt", "wifi_ssid": "simulated", "broker": host, "port": port, "keepalive": 30}
        configs.append(cfg)
    return configs


def load_configs(paths):
    configs = []
    for path in paths:
        try:
            configs.append(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as e:
            raise SimulatorError("cannot read unit config %s: %s" % (path, e)) from None
    return configs


def parse_mqtt_url(url):
    """mqtt://HOST[:PORT] -> (host, port)."""
    if not url.startswith("mqtt://"):
        raise SimulatorError("MQTT URL must look like mqtt://HOST:PORT, not %r" % url)
    rest = url[len("mqtt://"):].rstrip("/")
    host, _, port = rest.partition(":")
    try:
        return host or "127.0.0.1", int(port) if port else 1883
    except ValueError:
        raise SimulatorError("bad port in %r" % url) from None


def read_codes(path):
    """One code per line (blank lines skipped), as bytes."""
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as e:
        raise SimulatorError("cannot read codes from %s: %s" % (path, e)) from None
    return [line.strip() for line in lines if line.strip()]
