"""Reading what a door scanned: the code's prefix picks a reader; anything unknown is unreadable (INVALID).

Readers map the code's text to a credentials.Reading. "PN1:" is a Pintu card (credentials.py). "HC1:" is an EU
Digital COVID Certificate: pintu.dcc registers its reader here when imported (register_reader("HC1:", fn), with
fn(data_dir, text, at) -> Reading carrying a policy.PersonState), and is imported lazily on the first HC1 scan.
"""

import hashlib
import importlib
import logging

from pintu_protocol.verdicts import R_UNREADABLE

from .credentials import PREFIX as CARD_PREFIX
from .credentials import Reading
from .datadir import VERIFIED_CACHE_MAX

log = logging.getLogger("pintu.codes")
DCC_PREFIX = "HC1:"
UNREADABLE = Reading(R_UNREADABLE, None, None, None)
_READERS = {}
_tried_modules = set()
# prefix -> module that registers its reader on import
_LAZY = {DCC_PREFIX: "pintu.dcc"}


def register_reader(prefix, reader):
    _READERS[prefix] = reader


def _read_card(data, text, at):
    # Remembered by digest, so that not even memory holds the scanned texts; forged codes are remembered too.
    digest = hashlib.sha256(text.encode()).digest()
    reading = data.verified.get(digest)
    if reading is None:
        reading = data.issuer.read(text)
        if len(data.verified) >= VERIFIED_CACHE_MAX:
            data.verified.clear()
        data.verified[digest] = reading
    return reading


register_reader(CARD_PREFIX, _read_card)


def read_code(data, code, at):
    """code: the bytes (or text) a scanner produced. Never raises for bad input: returns a Reading."""
    if isinstance(code, (bytes, bytearray)):
        try:
            text = bytes(code).decode("ascii")
        except UnicodeDecodeError:
            return UNREADABLE
    else:
        text = str(code)
    text = text.strip("\r\n\x00")  # scanners end a code with CR/LF; a space is a base45 digit
    prefix = text[:4]
    reader = _READERS.get(prefix)
    if reader is None and prefix in _LAZY and _LAZY[prefix] not in _tried_modules:
        _tried_modules.add(_LAZY[prefix])
        try:
            importlib.import_module(_LAZY[prefix])
        except ImportError:
            pass
        reader = _READERS.get(prefix)
    if reader is None:
        return UNREADABLE
    try:
        return reader(data, text, at)
    except Exception:  # a reader's bug must refuse the scan, never admit it or stop the host
        log.exception("reader for %r failed", prefix)
        return UNREADABLE
