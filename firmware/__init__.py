"""Pintu door-unit firmware: one package that runs on the board, under MicroPython in tests and in the host's simulator.

On a board it lives in /lib/firmware/ and /main.py starts it (see firmware/README.md)."""

VERSION = "0.1.0"
