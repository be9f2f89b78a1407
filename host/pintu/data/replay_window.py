"""The sliding anti-replay window for frames from a unit (RFC 4303 section 3.4.3, as IPsec and DTLS keep one).

Several gateway workers handle one unit's frames, so they may be decided out of order: a SCAN and the HEARTBEAT
right after it reach two workers and the HEARTBEAT wins. A strict "above the last counter" rule took the SCAN for a
replay. The window accepts any counter not seen before among the last WINDOW counters below the highest accepted,
and refuses a repeated one and anything older: reordering costs nothing, a replay is refused as before.

State: top, the highest counter accepted, and seen, a WINDOW-bit map whose bit i says counter top - i was accepted.
Pure arithmetic here; sql_registry.accept_rx_counter reads and writes the state in one write transaction.
"""

WINDOW = 64
_MASK = (1 << WINDOW) - 1

ACCEPTED = "accepted"
DUPLICATE = "duplicate"  # seen within the window: a QoS 1 redelivery, a copy, or a replay of a recent frame
TOO_OLD = "too_old"  # below the window: no way to tell, so refused as a replay


def slide(top, seen, n):
    """-> (outcome, new top, new seen) for counter n arriving at state (top, seen)."""
    seen &= _MASK
    if n < 1:  # counters start at 1: a 0 (or less) was never sent, even when the window reaches below 1
        return TOO_OLD, top, seen
    if n > top:
        shift = n - top
        return ACCEPTED, n, ((seen << shift) | 1) & _MASK if shift < WINDOW else 1
    age = top - n
    if age >= WINDOW:
        return TOO_OLD, top, seen
    if seen >> age & 1:
        return DUPLICATE, top, seen
    return ACCEPTED, top, seen | 1 << age


def to_column(seen):
    """The map as the signed 64-bit integer both databases store."""
    seen &= _MASK
    return seen - (1 << 64) if seen >= 1 << 63 else seen


def from_column(value):
    return (value or 0) & _MASK
