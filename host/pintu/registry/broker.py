"""Mosquitto configuration for a Pintu site: listeners (plain, or TLS with a loopback-only plain one), password file
(hashed) and per-device ACL."""

import base64
import hashlib
import os
import pwd
from pathlib import Path

from pintu.data.files import private_dir, write_private
from pintu.registry.validate import HOST_USER  # reserved there: no device may take the host's login
from pintu_protocol.topics import DOWN, STATUS, UP, down_topic, every, status_topic, up_topic

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd 2.x writes for its $7$ (PBKDF2-SHA512) hashes
# Host logins written by default: one per `pintu serve` worker of one broker (pintu-host, pintu-host-2, ...).
HOST_WORKERS = 4


def host_users(workers=HOST_WORKERS):
    """The host workers' broker logins. The broker makes each login its client id (use_username_as_clientid), so
    each worker needs its own, and no unit can connect under a worker's client id and knock it off the broker."""
    return [HOST_USER] + ["%s-%d" % (HOST_USER, i) for i in range(2, workers + 1)]


def passwd_line(user, password, salt=None):
    """One mosquitto_passwd line: user:$7$iterations$salt$hash, PBKDF2-SHA512, as `mosquitto_passwd -b` writes."""
    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return "%s:$7$%d$%s$%s" % (
        user, PBKDF2_ITERATIONS, base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    )


def acl_text(devices, workers=HOST_WORKERS):
    """devices: iterable of (device_id, site_id). Each device may publish only its own up and status topics and
    read only its own down topic; the host's workers read every up/status and write every down."""
    lines = ["# Written by `pintu broker-config`. One block per device; the host may read all units and answer all."]
    for user in host_users(workers):
        lines += [
            "user %s" % user,
            "topic read %s" % every(UP),
            "topic read %s" % every(STATUS),
            "topic write %s" % every(DOWN),
            "",
        ]
    for device_id, site_id in devices:
        lines += [
            "user %s" % device_id,
            "topic write %s" % up_topic(site_id, device_id),
            "topic readwrite %s" % status_topic(site_id, device_id),
            "topic read %s" % down_topic(site_id, device_id),
            "",
        ]
    return "\n".join(lines)


def tls_listener(out_dir, tls_port, bind):
    """The MQTT-over-TLS listener (issue 18): the server key and certificate beside mosquitto.conf, TLS 1.2 or newer
    (tls_version is the lowest accepted). No client certificates: units and the host log in with passwords, which
    now travel encrypted."""
    return [
        "listener %d %s" % (tls_port, bind),
        "certfile %s" % (out_dir / "server.crt"),
        "keyfile %s" % (out_dir / "server.key"),
        "tls_version tlsv1.2",
    ]


def mosquitto_conf(out_dir, port=1883, bind="0.0.0.0", run_as="mosquitto", tls_port=None, plain=True):
    """tls_port: also (or only) listen with TLS there; the plain listener then stays on loopback only, for a host
    on the broker's machine, or is left out (plain=False)."""
    out_dir = Path(out_dir).resolve()
    listeners = []
    if tls_port is None:
        listeners.append("listener %d %s" % (port, bind))
    else:
        if plain:  # nothing personal leaves this machine in clear: only a host beside the broker uses it
            listeners.append("listener %d 127.0.0.1" % port)
        listeners += tls_listener(out_dir, tls_port, bind)
    return "\n".join([
        "# Written by `pintu broker-config`. Start with: mosquitto -c %s" % (out_dir / "mosquitto.conf"),
        # Started as root, mosquitto switches to this user, who owns (and alone can read) these files.
        "user %s" % run_as,
        "per_listener_settings false",
        *listeners,
        # Every client's id is its login: a unit cannot take a worker's client id (which would disconnect the
        # worker), nor another unit's. Each worker logs in as its own host user (broker.host_users).
        "use_username_as_clientid true",
        "allow_anonymous false",
        "password_file %s" % (out_dir / "passwd"),
        "acl_file %s" % (out_dir / "acl"),
        # Queued QoS 1 frames for a host worker that is away survive a broker restart.
        "persistence true",
        "persistence_location %s/" % out_dir,
        "autosave_interval 5",
        "max_queued_messages 100000",
        # A frame is at most 1,400 bytes: a client sending a bigger packet is disconnected before it is buffered.
        "max_packet_size 4096",
        # Small packets (a SCAN, its VERDICT) go out at once: Nagle + delayed ACK cost ~40 ms of a 46 ms scan->verdict.
        "set_tcp_nodelay true",
        "",
    ])


def write_broker_config(out_dir, devices, host_password, port=1883, bind="0.0.0.0", run_as=None, tls=None,
                        workers=HOST_WORKERS):
    """devices: iterable of (device_id, site_id, mqtt_password). Writes mosquitto.conf, passwd and acl, readable by
    their owner only. run_as: the user mosquitto runs as (default: whoever runs this); when that is another user,
    the folder and files are given to them (which needs root). tls: None, or {"port": N, "plain": bool, "files":
    {name: bytes}} with the server key and certificate to write (empty: the ones in out_dir stay)."""
    run_as = run_as or pwd.getpwuid(os.getuid()).pw_name
    try:
        owner = pwd.getpwnam(run_as)
    except KeyError:
        raise ValueError("no user %r on this machine" % run_as) from None
    out_dir = Path(out_dir)
    private_dir(out_dir)
    devices = list(devices)
    passwd = [passwd_line(u, host_password) for u in host_users(workers)] + [passwd_line(d, pw) for d, _, pw in devices]
    files = {
        "mosquitto.conf": mosquitto_conf(out_dir, port, bind, run_as, *((tls["port"], tls["plain"]) if tls else ())),
        "passwd": "\n".join(passwd) + "\n",
        "acl": acl_text(((d, s) for d, s, _ in devices), workers),
    }
    if tls:
        files.update(tls["files"])
    for name, text in files.items():
        write_private(out_dir / name, text, owner)
    if owner.pw_uid != os.getuid():
        os.chown(out_dir, owner.pw_uid, owner.pw_gid)
    return sorted(set(files) | ({"server.crt", "server.key"} if tls else set()))
