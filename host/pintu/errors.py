"""The host library's one error type: bad input or a missing record, shown to an operator as one line."""


class PintuError(Exception):
    """Something the caller asked for cannot be done (unknown site, malformed NIK, bad date...).

    The CLI turns it into one line on stderr and exit code 2, in exactly one place (cli/base.py)."""
