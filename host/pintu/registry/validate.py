"""Checks of what an operator types for the registry: ids, names, choices, capacities; each failure one line."""

from pintu.errors import PintuError

MAX_NAME = 100


def check_id(kind, value):
    if not value or len(value) > 32 or not all(ch.isalnum() or ch in "-_." for ch in value) or not value.isascii():
        raise PintuError("bad %s id %r (letters, digits, - _ . ; at most 32)" % (kind, value))
    return value


def check_choice(kind, value, choices):
    if value not in choices:
        raise PintuError("bad %s %r (one of %s)" % (kind, value, ", ".join(choices)))
    return value


def check_capacity(capacity):
    try:
        capacity = int(capacity)
    except (TypeError, ValueError):
        raise PintuError("bad capacity %r" % (capacity,)) from None
    if capacity < 0:
        raise PintuError("capacity must not be negative")
    return capacity


def check_name(name):
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise PintuError("name longer than %d characters" % MAX_NAME)
    return name
