"""Reading what a door scanned: the code's prefix picks a reader; anything unknown is unreadable (INVALID).

Readers map the code's text to a credentials.Reading: "PN1:" is a Pintu card and "PG1:" a guard's card
(credentials.py), "HC1:" an EU Digital COVID Certificate verified offline against the operator's trust anchors
(hc1.py, trust.py). An expired certificate is refused, but still names its holder (an exit needs only that).
"""

import hashlib
import logging
from datetime import datetime, timezone

from pintu.data.datadir import VERIFIED_CACHE_MAX
from pintu.rules import hc1
from pintu.rules.credentials import GUARD_PREFIX, Reading
from pintu.rules.credentials import PREFIX as CARD_PREFIX
from pintu_protocol.verdicts import R_EXPIRED, R_OK, R_UNREADABLE

log = logging.getLogger("pintu.codes")
UNREADABLE = Reading(R_UNREADABLE, None, None, None)
_READERS = {}


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


def _read_certificate(data, text, at):
    anchors = data.trust.anchors()
    try:
        # Remembered by digest beside the cards (hc1.verify): the signer's trust and the times are checked every scan.
        certificate = hc1.verify(text, anchors, now=datetime.fromtimestamp(at, timezone.utc), id_key=data.id_key,
                                 remembered=data.verified)
    except hc1.DccError as e:
        log.info("EU certificate refused at step %s", e.step)  # the step only: never the code or its fields
        if e.reason == R_EXPIRED:
            return Reading(R_EXPIRED, None, None, _expired_holder(text, anchors, data.id_key))
        return Reading(e.reason, None, None, None)
    return Reading(R_OK, None, None, certificate)


def _expired_holder(text, anchors, id_key):
    """An expired certificate, verified as it was on its last valid second: it stays refused (R_EXPIRED), but who
    holds it is known, so its holder can leave (issue 13: an exit needs only to identify the visit)."""
    try:
        signed = hc1.open_signed(text, anchors)
        return hc1.verify(text, anchors, now=signed.expires_at, id_key=id_key)
    except hc1.DccError:
        return None


register_reader(CARD_PREFIX, _read_card)
register_reader(GUARD_PREFIX, _read_card)  # one verifier; the Reading says which kind it was
register_reader(hc1.PREFIX, _read_certificate)


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
    if reader is None:
        return UNREADABLE
    try:
        return reader(data, text, at)
    except Exception:  # a reader's bug must refuse the scan, never admit it or stop the host
        log.exception("reader for %r failed", prefix)
        return UNREADABLE
