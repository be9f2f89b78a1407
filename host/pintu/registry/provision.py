"""Provisioning door units: their config file (what `pintu deploy` copies to the board), MQTT logins, broker files."""

import base64
import hashlib
import hmac
import json
import os
import secrets

from pintu import registry
from pintu.addresses import parse_broker
from pintu.data.files import private_dir, write_private
from pintu.errors import PintuError
from pintu.registry import tls as tls_mod
from pintu.registry.broker import HOST_USER, HOST_WORKERS, host_users, write_broker_config  # noqa: F401
from pintu.registry.validate import check_choice, check_id, check_ip, check_wifi

DEVICES_DIR = "devices"  # DATA/devices/<id>.json: one unit config each, owner-only (they hold the unit's key)
HOST_PASSWORD_FILE = "mqtt-host.password"
DEFAULT_BOARD = "esp32-devkitc-gm65"
LINKS = ("serial", "mqtt")


def mqtt_password(key):
    """A unit's broker password, derived from its key: nothing more to store, and it dies with the key."""
    return hmac.new(key, b"pintu mqtt password", hashlib.sha256).hexdigest()[:32]


def link_config(kind, broker=None, wifi_ssid=None, wifi_password=None, login=None, keepalive=None,
                repl_escape=None, ca=None):
    """The `link` part of a unit's config (firmware/config.py validates it on the unit). broker: an address as
    pintu.addresses parses it; login: (user, password) for a broker that asks; keepalive and repl_escape: None
    leaves the firmware's defaults. ca: the CA certificate (DER) the unit verifies the broker with: the unit then
    speaks only TLS (port 8883 unless the address says otherwise), never plain MQTT."""
    if kind not in LINKS:
        raise PintuError("bad link %r (serial or mqtt)" % kind)
    if kind == "serial":
        return {"kind": "serial"} if repl_escape is None else {"kind": "serial", "repl_escape": repl_escape}
    if not wifi_ssid or not broker:
        raise PintuError("an mqtt unit needs --wifi-ssid and --broker HOST:PORT")
    address = parse_broker(broker, "mqtts" if ca is not None else "mqtt")
    if address.tls and ca is None:
        raise PintuError("%s is a TLS broker: the unit needs the CA (--tls)" % broker)
    if ca is not None and not address.tls:
        raise PintuError("%s is plain MQTT, but the unit is to use TLS (give mqtts://HOST or HOST)" % broker)
    wifi_ssid, wifi_password = check_wifi(wifi_ssid, wifi_password)
    link = {"kind": "mqtt", "wifi_ssid": wifi_ssid, "wifi_password": wifi_password, "broker": address.host,
            "port": address.port}
    if ca is not None:
        link["tls"] = {"ca": base64.b64encode(ca).decode()}  # DER: what MicroPython's SSLContext takes as cadata
    if login is not None:
        link["user"], link["password"] = login
    if keepalive is not None:
        link["keepalive"] = keepalive
    return link


def unit_config(device_id, key, site_id, door_id, direction, board, link):
    """A unit's pintu.json, in the shape firmware/config.py validates: the one builder, for provisioned units as for
    simulated ones. link: from link_config."""
    return {
        "device_id": device_id,
        "key": key.hex(),
        "site": site_id,
        "door": door_id,
        "direction": "out" if direction == "out" else "in",
        "board": board,
        "link": link,
    }


def config_ca_pin(path):
    """SHA-256 of the CA in a unit's config file, or None for a unit without TLS."""
    with open(path) as f:
        ca = json.load(f).get("link", {}).get("tls", {}).get("ca")
    return tls_mod.pin(base64.b64decode(ca)) if ca else None


def config_path(data, device_id):
    return os.path.join(data.path, DEVICES_DIR, device_id + ".json")


def unit_ca(data, link, broker, tls):
    """The CA a new unit config carries: DATA/tls's for --tls or an mqtts:// broker, None for plain MQTT."""
    if link != "mqtt":
        if tls:
            raise PintuError("--tls is for mqtt units (USB serial is a cable, not a network)")
        return None
    if tls or (broker and parse_broker(broker).tls):
        return tls_mod.ca_der(data.path)
    return None


def add_unit(data, device_id, door_id, link="serial", wifi_ssid=None, wifi_password=None, broker=None,
             board=DEFAULT_BOARD, known_boards=None, tls=False):
    """Register a unit at a door, with a new key, and write its config file. -> (device dict, config path).
    known_boards: the board files there are (the CLI passes tech.unit_files' list: where those files live is not the
    registry's business); None skips that check, for callers that build units for the simulator.
    tls: the unit connects with TLS and verifies the broker with the site's CA (made by broker-config --tls)."""
    check_id("device", device_id)
    if known_boards is not None:
        check_choice("board", board, tuple(known_boards))
    door = data.store.get_door(door_id)
    if door is None:
        raise PintuError("unknown door %r" % door_id)
    ca = unit_ca(data, link, broker, tls)
    link_config(link, broker, wifi_ssid, wifi_password, ca=ca)  # the link is checked before anything is stored
    device, key = registry.add_device(data, device_id, door_id)
    login = (device_id, mqtt_password(key)) if link == "mqtt" else None
    cfg = unit_config(device_id, key, door["site_id"], door_id, door["direction"], board,
                      link_config(link, broker, wifi_ssid, wifi_password, login, ca=ca))
    path = config_path(data, device_id)
    private_dir(os.path.dirname(path))
    write_private(path, json.dumps(cfg, indent=1) + "\n")
    return device, path


def set_unit(data, device_id, link=None, wifi_ssid=None, wifi_password=None, broker=None, board=None,
             known_boards=None, tls=None):
    """Change a unit's link settings or board and re-write its config file (run `pintu deploy` again to copy it);
    its key, and so its id and broker login, stay. -> (device dict, config path). tls: None keeps what the unit
    has (a TLS unit stays one, with the CA of today's data directory); True or False turns it on or off."""
    row = data.store.get_device(check_id("device", device_id))
    if row is None:
        raise PintuError("unknown device %r" % device_id)
    path = config_path(data, device_id)
    if row["revoked"] is not None or not os.path.exists(path):
        raise PintuError("device %r is revoked (or its config file is gone): add a new one" % device_id)
    with open(path) as f:
        old = json.load(f)
    if board is not None and known_boards is not None:
        check_choice("board", board, tuple(known_boards))
    old_link = old.get("link", {})
    link = link or old_link.get("kind", "serial")
    was_tls = "tls" in old_link
    if tls is None:  # kept, unless the new address names its scheme
        tls = parse_broker(broker).tls if broker and "://" in broker else was_tls
    if broker is None and old_link.get("broker"):
        host = old_link["broker"]
        port = old_link.get("port") if tls == was_tls else None  # switched: the other scheme's default port
        broker = "%s://%s%s" % ("mqtts" if tls else "mqtt", "[%s]" % host if ":" in host else host,
                                ":%d" % port if port else "")
    door = data.store.get_door(row["door_id"])
    key = bytes(row["key"])
    new_link = link_config(link, broker, old_link.get("wifi_ssid") if wifi_ssid is None else wifi_ssid,
                           old_link.get("wifi_password") if wifi_password is None else wifi_password,
                           (device_id, mqtt_password(key)) if link == "mqtt" else None,
                           ca=unit_ca(data, link, broker, tls and link == "mqtt"))
    cfg = unit_config(device_id, key, door["site_id"], door["id"], door["direction"],
                      board or old.get("board", DEFAULT_BOARD), new_link)
    write_private(path, json.dumps(cfg, indent=1) + "\n")
    return registry.device_dict(data.store.get_device(device_id)), path


def revoke_unit(data, device_id):
    """Refuse the unit's frames from now on and delete its config file (the broker login goes with the next
    `pintu broker-config` and a SIGHUP to mosquitto)."""
    result = registry.revoke_device(data, device_id)
    try:
        os.unlink(config_path(data, device_id))
    except FileNotFoundError:
        pass
    return result


def host_password(data):
    """The host's broker password, made once and kept in DATA/mqtt-host.password (owner-only)."""
    path = os.path.join(data.path, HOST_PASSWORD_FILE)
    if not os.path.exists(path):
        write_private(path, secrets.token_hex(16) + "\n")
    with open(path) as f:
        return f.read().strip()


def broker_config(data, out_dir, port=1883, bind="0.0.0.0", run_as=None, tls=False, tls_port=8883, names=(),
                  addresses=(), plain=True, new_cert=False, workers=HOST_WORKERS):
    """Write mosquitto.conf, passwd and acl for every unit that is not revoked, and `workers` host logins.
    -> (file names, host password path, first host login). tls: also the site's CA (made once, in DATA/tls), the
    broker's key and certificate for `names`/`addresses` (kept when still good, unless new_cert), and a TLS listener
    on tls_port; the plain one on `port` is then bound to loopback, or left out when plain is False."""
    bind = check_ip(bind, "--bind")
    tls_conf = None
    if tls:
        tls_conf = {"port": tls_port, "plain": plain,
                    "files": tls_mod.server_files(data.path, out_dir, names, addresses, new_cert)}
    elif names or addresses or new_cert or not plain:
        raise PintuError("--name, --address, --new-cert and --no-plain go with --tls")
    devices = []
    for row in data.store.list_devices():
        if row["revoked"] is not None or row["door_id"] is None:
            continue
        door = data.store.get_door(row["door_id"])
        devices.append((row["id"], door["site_id"], mqtt_password(bytes(row["key"]))))
    try:
        names = write_broker_config(out_dir, devices, host_password(data), port, bind, run_as, tls_conf, workers)
    except (ValueError, OSError) as e:
        raise PintuError(str(e)) from None
    return names, os.path.join(data.path, HOST_PASSWORD_FILE), HOST_USER
