"""Ticks and const for every firmware module: MicroPython's own on a board, the same arithmetic on CPython.

Its own module (not hw.py) so that drivers and adapters take time from here without importing the hardware seam:
hw_optional.py needs ticks and hw.py loads hw_optional.py, which made an import circle."""

try:
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms

    from micropython import const
except ImportError:  # CPython: the same wrap-around arithmetic as MicroPython's 30-bit ticks
    import time

    _PERIOD = 1 << 30
    _HALF = 1 << 29
    _MASK = _PERIOD - 1

    def const(x):
        return x

    def ticks_ms():
        return int(time.monotonic() * 1000) & _MASK

    def ticks_add(ticks, delta):
        return (ticks + delta) & _MASK

    def ticks_diff(a, b):
        return ((a - b + _HALF) & _MASK) - _HALF

    def sleep_ms(ms):
        time.sleep(ms / 1000)
