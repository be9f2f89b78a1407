"""Simulated units' keys and configs: deterministic keys per device id, the configs `pintu simulate` makes up (the
same JSON the host's provisioning writes, built by the same function) or reads, and code files."""

import hashlib
import json
from pathlib import Path

from pintu.errors import PintuError
from pintu.registry.provision import DEFAULT_BOARD, link_config, unit_config

DEFAULT_KEY_SEED = b"pintu-simulator"
SIMULATED_SSID = "simulated"  # a simulated unit's Wi-Fi always "joins"; the firmware still wants a network name
KEEPALIVE_S = 30


def simulated_link(kind, broker=None, ssid=SIMULATED_SSID, ca=None):
    """The link a simulated unit runs on: a serial line without the REPL escape (a pty cannot reset the unit), or
    MQTT through `broker` (mqtts:// with ca, the CA certificate's DER, as a provisioned TLS unit has)."""
    if kind == "serial":
        return link_config("serial", repl_escape=False)
    return link_config("mqtt", broker, ssid, keepalive=KEEPALIVE_S, ca=ca)


class SimulatorError(PintuError):
    """A simulation that cannot be set up (bad config, missing port, unknown board)."""


# -- keys and configs --------------------------------------------------------------------------------------------------


def device_key(device_id, seed=DEFAULT_KEY_SEED):
    """A deterministic 32-byte key per simulated device, so a test host can know it without provisioning."""
    return hashlib.sha256(seed + b"/" + device_id.encode()).digest()


def make_configs(n, site="demo", door="main", board=DEFAULT_BOARD, link="serial", mqtt=None, prefix="sim",
                 seed=DEFAULT_KEY_SEED, directions=("in",), ca=None):
    """n unit configs (the same JSON the host's provisioning writes), device ids prefix-1..prefix-n. ca: the CA
    certificate (DER) of an mqtts:// broker."""
    configs = []
    for i in range(1, n + 1):
        device_id = "%s-%d" % (prefix, i)
        link_cfg = link_config("serial") if link != "mqtt" else simulated_link("mqtt", mqtt or "mqtt://127.0.0.1:1883",
                                                                               ca=ca)
        configs.append(unit_config(device_id, device_key(device_id, seed), site, door,
                                   directions[(i - 1) % len(directions)], board, link_cfg))
    return configs


def load_configs(paths):
    configs = []
    for path in paths:
        try:
            configs.append(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as e:
            raise SimulatorError("cannot read unit config %s: %s" % (path, e)) from None
    return configs



def read_codes(path):
    """One code per line (blank lines skipped), as bytes."""
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as e:
        raise SimulatorError("cannot read codes from %s: %s" % (path, e)) from None
    return [line.strip() for line in lines if line.strip()]
