"""Trust anchors for HC1 verification: the signer (DSC) certificates an operator imported, kept as files.

On disk, under the data directory the caller gives (`TrustStore(data_dir)`):

    DATA/trust/                 mode 0700
        <sha256-hex>.der        mode 0600, one X.509 certificate in DER; the name is the SHA-256 of its content,
                                so the key id (its first 8 bytes) is the first 16 hex digits of the name

The file name is the content hash, so importing the same certificate twice is a no-op, a file whose content does not
match its name (edited, truncated) is ignored rather than trusted, and no index file can drift out of step with the
certificates. Files are written to a temporary name and renamed into place, so a crash never leaves half a
certificate behind.

Import accepts PEM (one or many certificates), DER, base64 of DER (as in the EU test data), and two JSON shapes:

    {"certificates": ["<base64 DER>", ...]}                                 -- Pintu's own form
    [{"kid": "<base64>", "rawData": "<base64 DER>"}, ...]                   -- the common DSC list shape
    {"certificates": [{"kid": "...", "rawData": "...", ...}, ...]}          -- the same, wrapped (DCC gateway lists)

A "kid" given in a list must match the certificate's computed key id; a mismatch refuses the whole import. A signer
certificate that has already expired is refused unless the caller allows it (`allow_expired`, the CLI's
`--allow-expired`): it can verify nothing current (a health certificate must not outlive its signer, signer.py), so
importing one is a mistake unless the operator means to check old codes with `pintu check --at`. Signed
trust lists (a signature line or a CWT around the JSON) are not verified here: import them only from a source you
trust, after checking them with the publisher's tools.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pintu.data.files import private_dir, write_private
from pintu.errors import PintuError
from pintu.rules.cose import key_id
from pintu.rules.signer import allowed_types

TRUST_DIR = "trust"
MAX_IMPORT_BYTES = 16 * 1024 * 1024  # the whole EU DSC list is about 3 MiB
MIN_RSA_BITS = 2048
_NAME = re.compile(r"^[0-9a-f]{64}\.der$")


class TrustError(PintuError):
    """An import or removal could not be done; the message is meant for the operator (the CLI shows PintuError)."""


@dataclass(frozen=True)
class Anchor:
    """One trusted signer certificate, with what `pintu trust list` shows about it."""

    kid: bytes
    sha256: str  # hex SHA-256 of the DER: also the file name
    certificate: x509.Certificate

    @property
    def kid_b64(self) -> str:
        """The key id as DCC trust lists and COSE tooling print it (standard base64, padded)."""
        return base64.b64encode(self.kid).decode("ascii")

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def country(self) -> str:
        attrs = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
        return str(attrs[0].value) if attrs else ""

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def allowed_types(self) -> str:
        """The entry types it may sign ("vtr" = vaccination, test, recovery), from its extended key usage."""
        return allowed_types(self.certificate)

    @property
    def key_type(self) -> str:
        key = self.certificate.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey):
            return "EC %s" % key.curve.name
        if isinstance(key, rsa.RSAPublicKey):
            return "RSA %d" % key.key_size
        return type(key).__name__


def parse_kid(text: str) -> bytes:
    """A key id as an operator types it: base64 (standard or URL-safe, padding optional) or 16 hex digits."""
    text = text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{16}", text):
        return bytes.fromhex(text)
    padded = text + "=" * (-len(text) % 4)
    try:
        kid = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        kid = b""
    if len(kid) != 8:
        raise TrustError("%r is not a key id (8 bytes, as base64 like 'DEsVUSvpFAE=' or as 16 hex digits)" % text)
    return kid


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in an import file's content, in order. Raises TrustError if there is none or one is bad."""
    if len(data) > MAX_IMPORT_BYTES:
        raise TrustError("file larger than %d bytes" % MAX_IMPORT_BYTES)
    text = _ascii(data)
    if text is not None and "-----BEGIN CERTIFICATE-----" in text:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise TrustError("bad PEM: %s" % exc) from None
    elif text is not None and text.lstrip()[:1] in ("{", "["):
        certs = _load_json(text)
    elif text is not None and re.fullmatch(r"[A-Za-z0-9+/=\s]+", text):
        certs = [_der(_b64(text, "file"), "file")]  # base64 of a DER certificate, as in the EU test data
    else:
        certs = [_der(data, "file")]
    if not certs:
        raise TrustError("no certificate found")
    for cert in certs:
        _check_key(cert)
    return certs


def _ascii(data):
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return None


def _b64(text, where):
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise TrustError("%s: not base64" % where) from None


def _der(data, where):
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise TrustError("%s: not a DER certificate (%s)" % (where, exc)) from None


def _load_json(text):
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise TrustError("bad JSON: %s" % exc) from None
    items = doc.get("certificates") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise TrustError('JSON trust list must be a list or {"certificates": [...]}')
    certs = []
    for n, item in enumerate(items):
        where = "entry %d" % n
        if isinstance(item, str):
            certs.append(_der(_b64(item, where), where))
        elif isinstance(item, dict) and isinstance(item.get("rawData"), str):
            cert = _der(_b64(item["rawData"], where), where)
            if item.get("kid") is not None:
                if not isinstance(item["kid"], str) or parse_kid(item["kid"]) != key_id(cert):
                    raise TrustError("%s: kid %r does not match the certificate" % (where, item["kid"]))
            certs.append(cert)
        else:
            raise TrustError('%s: expected base64 DER or {"kid": ..., "rawData": ...}' % where)
    return certs


def _refuse_expired(certs, now):
    for cert in certs:
        if cert.not_valid_after_utc < now:
            raise TrustError(
                "%s expired on %s: it can verify no current certificate (use --allow-expired to check old codes "
                "with `pintu check --at`)" % (cert.subject.rfc4514_string(), cert.not_valid_after_utc.date())
            )


def _check_key(cert):
    # Only keys that can verify ES256 or PS256 are worth trusting; anything else would be dead weight or a mistake.
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
        return
    raise TrustError("%s: key is neither EC P-256 nor RSA >= %d bits" % (cert.subject.rfc4514_string(), MIN_RSA_BITS))


class TrustStore:
    """The trust anchors under DATA/trust/. Cheap to create; reads the directory when asked."""

    def __init__(self, data_dir):
        self.path = Path(data_dir) / TRUST_DIR
        self._parsed = {}  # file name -> Anchor; a name is its content's hash, so entries never go stale

    def import_file(self, path, *, allow_expired=False, now=None) -> list[Anchor]:
        """Import every certificate in a PEM, DER, base64 or JSON file. Returns the anchors (new or already there).
        An expired signer refuses the whole import unless allow_expired (now: the time to judge by; default the
        wall clock)."""
        path = Path(path)
        try:
            with path.open("rb") as f:
                data = f.read(MAX_IMPORT_BYTES + 1)
        except OSError as exc:
            raise TrustError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
        return self.import_bytes(data, allow_expired=allow_expired, now=now)

    def import_bytes(self, data: bytes, *, allow_expired=False, now=None) -> list[Anchor]:
        """As `import_file`, from content. All certificates are checked before any is written."""
        certs = load_certificates(data)
        if not allow_expired:
            _refuse_expired(certs, datetime.now(timezone.utc) if now is None else now)
        private_dir(self.path)
        anchors = []
        for cert in certs:
            der = cert.public_bytes(Encoding.DER)
            digest = hashlib.sha256(der).hexdigest()
            target = self.path / (digest + ".der")
            if not target.exists():
                write_private(target, der)
            anchors.append(Anchor(key_id(der), digest, cert))
        return anchors

    def list(self) -> list[Anchor]:
        """All trusted anchors, sorted by key id. Files that are not intact certificates are skipped."""
        # The directory is listed on every call (another process may have imported or removed), but each file is
        # read and parsed once: its name is the hash of its content.
        try:
            names = [e.name for e in os.scandir(self.path) if _NAME.match(e.name)]
        except FileNotFoundError:
            return []
        parsed = {}
        for name in names:
            anchor = self._parsed.get(name) or self._read(name)
            if anchor is not None:  # a damaged file is skipped, and looked at again next time
                parsed[name] = anchor
        self._parsed = parsed
        return sorted(parsed.values(), key=lambda a: (a.kid, a.sha256))

    def anchors(self) -> dict[bytes, list[x509.Certificate]]:
        """Key id -> certificates: what `hc1.verify(code, anchors, ...)` takes."""
        index: dict[bytes, list[x509.Certificate]] = {}
        for anchor in self.list():
            index.setdefault(anchor.kid, []).append(anchor.certificate)
        return index

    def remove(self, kid: str | bytes) -> list[Anchor]:
        """Remove every anchor with this key id (base64 or hex text, or 8 raw bytes). Returns what was removed."""
        kid = kid if isinstance(kid, bytes) else parse_kid(kid)
        removed = [a for a in self.list() if a.kid == kid]
        if not removed:
            raise TrustError("no trust anchor with key id %s" % base64.b64encode(kid).decode("ascii"))
        for anchor in removed:
            try:
                (self.path / (anchor.sha256 + ".der")).unlink()
            except FileNotFoundError:
                pass
        return removed

    def _read(self, name):
        try:
            der = (self.path / name).read_bytes()
        except OSError:
            return None
        digest = hashlib.sha256(der).hexdigest()
        if name != digest + ".der":
            return None  # altered since import: not what the operator trusted
        try:
            return Anchor(key_id(der), digest, x509.load_der_x509_certificate(der))
        except ValueError:
            return None
