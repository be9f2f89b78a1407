"""Technician tools (flash, deploy against a virtual MicroPython board), pintu simulate and the demo."""
