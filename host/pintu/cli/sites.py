"""`pintu site|door|device|broker-config`: the places, their doors and the units at them."""

import os

import click

from pintu import registry
from pintu.cli.base import data_of, emit, json_option, main, pairs, table
from pintu.errors import PintuError
from pintu.registry import provision
from pintu.rules.policy import ANTI_PASSBACK, DIRECTIONS, PROFILES

site_options = [
    click.option("--name"),
    click.option("--capacity", type=int),
    click.option("--policy", "policy_name", type=click.Choice(tuple(PROFILES))),
    click.option("--referral", help="Referral clinic shown on RED, e.g. 'Puskesmas Karang Kitri'."),
    click.option("--max-stay", help="Automatic check-out after this long, e.g. 8h (at least 5m)."),
    click.option("--retention", help="Keep the site's events and visits this long; `pintu serve` purges older ones "
                                     "daily (default 30d)."),
    click.option(
        "--yellow-admits/--no-yellow-admits",
        default=None,
        help="Whether YELLOW admits once a guard checks (default yes); if not, YELLOW becomes RED.",
    ),
    click.option(
        "--accept-tests/--no-accept-tests",
        default=None,
        help="Whether a recent negative test or a valid recovery on an EU certificate admits (default no).",
    ),
    click.option(
        "--anti-passback",
        type=click.Choice(ANTI_PASSBACK),
        help="hard (default): someone already inside is refused at an entry door; soft: let in again, uncounted "
        "and flagged, while the site is not full.",
    ),
    click.option("--hold", help="How long a YELLOW holds a place for the guard's confirmation (default 60s)."),
]


def _site_options(func):
    for option in reversed(site_options):
        func = option(func)
    return func


SITE_COLUMNS = (
    ("site", "SITE"),
    ("name", "NAME"),
    ("capacity", "CAPACITY"),
    ("policy", "POLICY"),
    ("max_stay", "MAX STAY"),
    ("retention", "RETENTION"),
    ("yellow_admits", "YELLOW ADMITS"),
    ("referral", "REFERRAL"),
)


@main.group()
def site():
    """Sites: offices, service halls, clinics."""


@site.command("add")
@click.argument("site_id", metavar="ID")
@_site_options
@json_option
@click.pass_context
def site_add(ctx, site_id, name, capacity, policy_name, referral, max_stay, retention, yellow_admits, accept_tests,
             anti_passback, hold, as_json):
    """Add a site (--name and --capacity are required)."""
    if name is None or capacity is None:
        raise PintuError("site add needs --name and --capacity")
    result = registry.add_site(
        data_of(ctx),
        site_id,
        name,
        capacity,
        policy_name or "dose1",
        referral or "",
        max_stay or "8h",
        True if yellow_admits is None else yellow_admits,
        bool(accept_tests),
        retention or registry.DEFAULT_RETENTION,
        anti_passback or "hard",
        hold or registry.DEFAULT_HOLD,
    )
    emit(as_json, result, pairs)


@site.command("set")
@click.argument("site_id", metavar="ID")
@_site_options
@json_option
@click.pass_context
def site_set(ctx, site_id, name, capacity, policy_name, referral, max_stay, retention, yellow_admits, accept_tests,
             anti_passback, hold, as_json):
    """Change a site's settings."""
    result = registry.set_site(
        data_of(ctx), site_id, name, capacity, policy_name, referral, max_stay, yellow_admits, accept_tests, retention,
        anti_passback, hold,
    )
    emit(as_json, result, pairs)


@site.command("list")
@json_option
@click.pass_context
def site_list(ctx, as_json):
    """List sites."""
    emit(as_json, registry.list_sites(data_of(ctx)), lambda rows: table(rows, SITE_COLUMNS))


@site.command("show")
@click.argument("site_id", metavar="ID")
@json_option
@click.pass_context
def site_show(ctx, site_id, as_json):
    """Show one site and its doors."""

    def human(obj):
        pairs(obj, [key for key in obj if key != "doors"])
        click.echo("doors:")
        table(obj["doors"], (("door", "DOOR"), ("direction", "DIRECTION")))

    emit(as_json, registry.show_site(data_of(ctx), site_id), human)


# -- doors and devices


@main.group()
def door():
    """Doors of a site (entry, exit or both)."""


@door.command("add")
@click.argument("door_id", metavar="ID")
@click.option("--site", "site_id", required=True)
@click.option("--direction", required=True, type=click.Choice(DIRECTIONS))
@json_option
@click.pass_context
def door_add(ctx, door_id, site_id, direction, as_json):
    """Add a door to a site."""
    emit(as_json, registry.add_door(data_of(ctx), door_id, site_id, direction), pairs)


@door.command("list")
@click.option("--site", "site_id")
@json_option
@click.pass_context
def door_list(ctx, site_id, as_json):
    """List doors."""
    rows = registry.list_doors(data_of(ctx), site_id)
    emit(as_json, rows, lambda r: table(r, (("door", "DOOR"), ("site", "SITE"), ("direction", "DIRECTION"))))


@main.group()
def device():
    """Door units, each with its own secret key."""


@device.command("add")
@click.argument("device_id", metavar="ID")
@click.option("--door", "door_id", required=True, help="The door this unit is mounted at.")
@click.option("--link", type=click.Choice(provision.LINKS), default="serial", show_default=True,
              help="How the unit reaches the host: USB serial, or Wi-Fi and MQTT.")
@click.option("--wifi-ssid", help="Wi-Fi network (mqtt units).")
@click.option("--wifi-pass", "wifi_password", help="Wi-Fi password (mqtt units).")
@click.option("--broker", help="HOST[:PORT] of the MQTT broker (mqtt units); mqtts://HOST[:PORT] for TLS.")
@click.option("--tls", is_flag=True, help="Connect with TLS (port 8883), verifying the broker with the site's CA "
                                          "(made by pintu broker-config --tls); never plain.")
@click.option("--board", default=provision.DEFAULT_BOARD, show_default=True,
              help="Board data file in boards/ (pintu deploy copies it).")
@json_option
@click.pass_context
def device_add(ctx, device_id, door_id, link, wifi_ssid, wifi_password, broker, tls, board, as_json):
    """Register a door unit with a new secret key and write its config file (for `pintu deploy`)."""
    from pintu.tech.unit_files import locate

    result, path = provision.add_unit(data_of(ctx), device_id, door_id, link, wifi_ssid, wifi_password, broker, board,
                                      known_boards=locate().board_names(), tls=tls)
    result["config"] = path
    _say_tls(result, path)
    emit(as_json, result, pairs)


@device.command("set")
@click.argument("device_id", metavar="ID")
@click.option("--link", type=click.Choice(provision.LINKS), help="How the unit reaches the host.")
@click.option("--wifi-ssid", help="Wi-Fi network (mqtt units).")
@click.option("--wifi-pass", "wifi_password", help="Wi-Fi password (mqtt units).")
@click.option("--broker", help="HOST[:PORT] of the MQTT broker (mqtt units); mqtts://HOST[:PORT] for TLS.")
@click.option("--tls/--no-tls", default=None, help="Turn TLS on or off (default: as it is).")
@click.option("--board", help="Board data file in boards/.")
@json_option
@click.pass_context
def device_set(ctx, device_id, link, wifi_ssid, wifi_password, broker, tls, board, as_json):
    """Change a unit's Wi-Fi, broker, link or board: re-writes its config file (same key and id); then run
    `pintu deploy` again."""
    from pintu.tech.unit_files import locate

    result, path = provision.set_unit(data_of(ctx), device_id, link, wifi_ssid, wifi_password, broker, board,
                                      known_boards=locate().board_names(), tls=tls)
    result["config"] = path
    _say_tls(result, path)
    emit(as_json, result, pairs)


def _say_tls(result, path):
    """The CA pin of a TLS unit, for a technician to compare with DATA/tls/ca.pem (openssl x509 -fingerprint)."""
    pin = provision.config_ca_pin(path)
    if pin:
        result["tls_ca_sha256"] = pin


@device.command("list")
@json_option
@click.pass_context
def device_list(ctx, as_json):
    """List door units: online when heard from within the last 90 s (three heartbeats), else offline."""
    columns = (("device", "DEVICE"), ("door", "DOOR"), ("state", "STATE"), ("seen", "LAST SEEN"),
               ("firmware", "FIRMWARE"), ("board", "BOARD"))
    emit(as_json, registry.list_devices(data_of(ctx)), lambda rows: table(rows, columns))


@device.command("revoke")
@click.argument("device_id", metavar="ID")
@json_option
@click.pass_context
def device_revoke(ctx, device_id, as_json):
    """Revoke a lost or stolen unit: its frames are refused and its config file deleted. Run
    `pintu broker-config` again and send mosquitto a SIGHUP to end its broker login too."""
    emit(as_json, provision.revoke_unit(data_of(ctx), device_id), pairs)


@main.command("broker-config")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535))
@click.option("--bind", default="0.0.0.0", show_default=True, help="Address the broker listens on.")
@click.option("--run-as", help="User mosquitto runs as (default: you); it will own the files.")
@click.option("--tls", is_flag=True, help="Add a TLS listener with the site's CA (made once in the data directory) "
                                          "and a server certificate; the plain listener stays on loopback only.")
@click.option("--tls-port", default=8883, show_default=True, type=click.IntRange(1, 65535))
@click.option("--name", "names", multiple=True, help="A DNS name units use for the broker (repeatable).")
@click.option("--address", "addresses", multiple=True, help="An IP address units use for the broker (repeatable).")
@click.option("--no-plain", is_flag=True, help="With --tls: no plain listener at all.")
@click.option("--new-cert", is_flag=True, help="With --tls: a new server key and certificate (rotation); then "
                                               "restart mosquitto.")
@click.option("--workers", default=provision.HOST_WORKERS, show_default=True, type=click.IntRange(1, 64),
              help="Host logins to write, one per `pintu serve` worker: pintu-host, pintu-host-2, ...")
@json_option
@click.pass_context
def broker_config(ctx, out_dir, port, bind, run_as, tls, tls_port, names, addresses, no_plain, new_cert, workers,
                  as_json):
    """Write a Mosquitto config, password file (hashed) and per-device ACL for every unit not revoked; with --tls
    also the server certificate and a TLS listener."""
    written, password_file, user = provision.broker_config(data_of(ctx), out_dir, port, bind, run_as, tls, tls_port,
                                                           names, addresses, not no_plain, new_cert, workers)
    result = {
        "files": [os.path.join(out_dir, name) for name in written],
        "host_user": user,
        "host_password_file": password_file,
        "start": "mosquitto -c %s" % os.path.join(os.path.abspath(out_dir), "mosquitto.conf"),
    }
    if tls:
        result["tls_ca"] = provision.tls_mod.ca_paths(data_of(ctx).path)[1]
    emit(as_json, result, pairs)
