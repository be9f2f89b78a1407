"""MQTT topic names, the one place they are spelled: for the unit's link, the host's link, the broker's ACL and the
benches. Over MQTT a payload is one frame (protocol/README.md); a topic says which unit it is from or for.

    pintu/<site>/<device>/up       unit -> host, QoS 1
    pintu/<site>/<device>/down     host -> unit, QoS 1
    pintu/<site>/<device>/status   retained "online" / "offline" (the unit's last will)

Not imported by the package's __init__: a serial unit never holds these names."""

from .frame import valid_device_id

ROOT = "pintu"
SHARE_GROUP = "pintu"  # host workers subscribe to every up topic through this shared subscription group
UP = "up"
DOWN = "down"
STATUS = "status"
KINDS = (UP, DOWN, STATUS)


def topic(site, device, kind):
    """The topic of one unit. Site and device ids are 1-32 of [A-Za-z0-9._-] (checked where they are made), so
    neither can hold a / or a wildcard."""
    return "%s/%s/%s/%s" % (ROOT, site, device, kind)


def up_topic(site, device):
    return topic(site, device, UP)


def down_topic(site, device):
    return topic(site, device, DOWN)


def status_topic(site, device):
    return topic(site, device, STATUS)


def every(kind):
    """The filter matching that topic of every unit of every site (the host's subscriptions and ACL lines)."""
    return topic("+", "+", kind)


def shared(topic_filter):
    """A shared subscription: the broker hands each message to one subscriber of the group (one host worker)."""
    return "$share/%s/%s" % (SHARE_GROUP, topic_filter)


def parse_topic(name, kinds=KINDS):
    """(site, device, kind) of a unit's topic whose kind is one of kinds, or None for anything else: another root,
    a missing or extra level, an id outside [A-Za-z0-9._-] (a wildcard, a space, empty), an unknown kind."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != ROOT or parts[3] not in kinds:
        return None
    if not (valid_device_id(parts[1]) and valid_device_id(parts[2])):
        return None
    return parts[1], parts[2], parts[3]
