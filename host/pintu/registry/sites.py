"""Sites (their policy, capacity and maximum stay), their doors, and the door units registered at them."""

import os
import time

from pintu.errors import PintuError
from pintu.registry.validate import (
    check_capacity,
    check_choice,
    check_id,
    check_max_stay,
    check_name,
    check_text,
    parse_duration,
)
from pintu.rules import policy
from pintu.times import format_duration, show_time

DEFAULT_MAX_STAY = "8h"
# How long a site's record (events, finished visits) is kept before `pintu serve` purges it: 30 days, near
# Singapore's SafeEntry rule (25 days), long enough for a 14-day trace with margin.
DEFAULT_RETENTION = "30d"
MIN_RETENTION_S = 86400  # shorter would purge today's record while a trace may still need it
DEFAULT_HOLD = "60s"  # how long a YELLOW holds a place for the guard (issue 13)
HOLD_RANGE_S = (5, 1800)  # long enough for a guard to walk over, short enough not to starve a busy site


def site_dict(row):
    return {
        "site": row["id"],
        "name": row["name"],
        "capacity": row["capacity"],
        "policy": row["policy"],
        "referral": row["referral"],
        "max_stay": format_duration(row["max_stay_s"]),
        "retention": format_duration(row["retention_s"]),
        "yellow_admits": bool(row["yellow_admits"]),
        "accept_tests": bool(row["accept_tests"]),
        "anti_passback": row["anti_passback"],
        "hold": format_duration(row["hold_s"]),
    }


def parse_hold(text):
    """A hold time with its unit ('60s', '2m'): a bare number is refused (seconds or hours would both be a guess)."""
    seconds = parse_duration(text, "hold time", HOLD_RANGE_S[0])
    if seconds > HOLD_RANGE_S[1]:
        raise PintuError("hold time must be between %ds and %dm" % (HOLD_RANGE_S[0], HOLD_RANGE_S[1] // 60))
    return seconds


def _guard_fields(anti_passback=None, hold=None):
    """The site options of issue 13 (anti-passback, the guard's hold time) as columns to set."""
    fields = {}
    if anti_passback is not None:
        fields["anti_passback"] = check_choice("anti-passback", anti_passback, policy.ANTI_PASSBACK)
    if hold is not None:
        fields["hold_s"] = parse_hold(hold)
    return fields


def get_site(data, site_id):
    row = data.store.get_site(site_id)
    if row is None:
        raise PintuError("unknown site %r" % site_id)
    return row


def add_site(
    data,
    site_id,
    name,
    capacity,
    policy_name=policy.DEFAULT_PROFILE,
    referral="",
    max_stay=DEFAULT_MAX_STAY,
    yellow_admits=True,
    accept_tests=False,
    retention=DEFAULT_RETENTION,
    anti_passback=policy.DEFAULT_ANTI_PASSBACK,
    hold=DEFAULT_HOLD,
):
    check_id("site", site_id)
    retention_s = parse_duration(retention, "retention", MIN_RETENTION_S)
    check_choice("policy", policy_name, tuple(policy.PROFILES))
    name, capacity = check_name(name) or site_id, check_capacity(capacity)
    referral, max_stay_s = check_text("referral", referral or ""), check_max_stay(max_stay)
    guard_fields = _guard_fields(anti_passback, hold)
    with data.store.write():
        data.store.insert_site(
            site_id, name, capacity, policy_name, referral, max_stay_s, yellow_admits, int(time.time()), accept_tests
        )
        data.store.update_site(site_id, dict(guard_fields, retention_s=retention_s))
    return site_dict(get_site(data, site_id))


def set_site(
    data, site_id, name=None, capacity=None, policy_name=None, referral=None, max_stay=None, yellow_admits=None,
    accept_tests=None, retention=None, anti_passback=None, hold=None,
):
    fields = _guard_fields(anti_passback, hold)
    if retention is not None:
        fields["retention_s"] = parse_duration(retention, "retention", MIN_RETENTION_S)
    if name is not None:
        fields["name"] = check_name(name)
    if capacity is not None:
        fields["capacity"] = check_capacity(capacity)
    if policy_name is not None:
        fields["policy"] = check_choice("policy", policy_name, tuple(policy.PROFILES))
    if referral is not None:
        fields["referral"] = check_text("referral", referral)
    if max_stay is not None:
        fields["max_stay_s"] = check_max_stay(max_stay)
    if yellow_admits is not None:
        fields["yellow_admits"] = int(bool(yellow_admits))
    if accept_tests is not None:
        fields["accept_tests"] = int(bool(accept_tests))
    with data.store.write():
        get_site(data, site_id)
        data.store.update_site(site_id, fields)
    return site_dict(get_site(data, site_id))


def list_sites(data):
    return [site_dict(row) for row in data.store.list_sites()]


def show_site(data, site_id):
    out = site_dict(get_site(data, site_id))
    out["doors"] = [door_dict(row) for row in data.store.list_doors(site_id)]
    return out


# -- doors and devices


def door_dict(row):
    return {"door": row["id"], "site": row["site_id"], "direction": row["direction"]}


def add_door(data, door_id, site_id, direction):
    check_id("door", door_id)
    check_choice("direction", direction, policy.DIRECTIONS)
    with data.store.write():
        get_site(data, site_id)
        data.store.insert_door(door_id, site_id, direction)
    return door_dict(data.store.get_door(door_id))


def list_doors(data, site_id=None):
    if site_id is not None:
        get_site(data, site_id)
    return [door_dict(row) for row in data.store.list_doors(site_id)]


def add_device(data, device_id, door_id=None, key=None):
    """Register a door unit with its own 32-byte secret key (generated unless given). -> (dict, key)."""
    check_id("device", device_id)
    key = key or os.urandom(32)
    with data.store.write():
        if door_id is not None and data.store.get_door(door_id) is None:
            raise PintuError("unknown door %r" % door_id)
        data.store.insert_device(device_id, door_id, key)
    return device_dict(data.store.get_device(device_id)), key


# A unit says HEARTBEAT every 30 s by default (firmware/config.py heartbeat_s): three missed ones mean it is offline.
ONLINE_WITHIN_S = 90


def device_state(row, now):
    if row["revoked"] is not None:
        return "revoked"
    if row["last_seen"] is None:
        return "never seen"
    return "online" if now - row["last_seen"] <= ONLINE_WITHIN_S else "offline"


def device_dict(row, now=None):
    now = time.time() if now is None else now
    return {
        "device": row["id"],
        "door": row["door_id"],
        "state": device_state(row, now),
        "seen": show_time(row["last_seen"]),
        "last_seen": row["last_seen"],
        "firmware": row["firmware"],
        "board": row["board"],
        "revoked": row["revoked"] is not None,
    }


def list_devices(data, at=None):
    return [device_dict(row, at) for row in data.store.list_devices()]


def device_seen(data, device_id, at=None, firmware=None, board=None):
    with data.store.write():
        data.store.touch_device(device_id, int(time.time() if at is None else at), firmware, board)


def revoke_device(data, device_id, at=None):
    """A lost or stolen unit: its frames are refused from now on (the gateway checks `revoked`)."""
    with data.store.write():
        if data.store.get_device(device_id) is None:
            raise PintuError("unknown device %r" % device_id)
        data.store.revoke_device(device_id, int(time.time() if at is None else at))
    return device_dict(data.store.get_device(device_id))
