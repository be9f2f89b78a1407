"""Sites (their policy, capacity and maximum stay), their doors, and the door units registered at them."""

import os
import time

from pintu.errors import PintuError
from pintu.registry.validate import check_capacity, check_choice, check_id, check_name
from pintu.rules import policy
from pintu.times import format_duration, parse_duration

DEFAULT_MAX_STAY = "8h"
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
        "yellow_admits": bool(row["yellow_admits"]),
        "accept_tests": bool(row["accept_tests"]),
        "anti_passback": row["anti_passback"],
        "hold": format_duration(row["hold_s"]),
    }


def parse_hold(text):
    """A hold time with its unit ('60s', '2m'): a bare number is refused (seconds or hours would both be a guess)."""
    if str(text).strip().isdigit():
        raise PintuError("hold time %r needs a unit, e.g. 60s or 2m" % str(text).strip())
    seconds = parse_duration(text)
    if not HOLD_RANGE_S[0] <= seconds <= HOLD_RANGE_S[1]:
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
    anti_passback=policy.DEFAULT_ANTI_PASSBACK,
    hold=DEFAULT_HOLD,
):
    check_id("site", site_id)
    check_choice("policy", policy_name, tuple(policy.PROFILES))
    guard_fields = _guard_fields(anti_passback, hold)
    with data.store.write():
        data.store.insert_site(
            site_id,
            check_name(name) or site_id,
            check_capacity(capacity),
            policy_name,
            referral or "",
            parse_duration(max_stay),
            yellow_admits,
            int(time.time()),
            accept_tests,
        )
        data.store.update_site(site_id, guard_fields)
    return site_dict(get_site(data, site_id))


def set_site(
    data, site_id, name=None, capacity=None, policy_name=None, referral=None, max_stay=None, yellow_admits=None,
    accept_tests=None, anti_passback=None, hold=None,
):
    fields = _guard_fields(anti_passback, hold)
    if name is not None:
        fields["name"] = check_name(name)
    if capacity is not None:
        fields["capacity"] = check_capacity(capacity)
    if policy_name is not None:
        fields["policy"] = check_choice("policy", policy_name, tuple(policy.PROFILES))
    if referral is not None:
        fields["referral"] = referral
    if max_stay is not None:
        fields["max_stay_s"] = parse_duration(max_stay)
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


def device_dict(row):
    return {
        "device": row["id"],
        "door": row["door_id"],
        "last_seen": row["last_seen"],
        "firmware": row["firmware"],
        "board": row["board"],
        "revoked": row["revoked"] is not None,
    }


def list_devices(data):
    return [device_dict(row) for row in data.store.list_devices()]


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
