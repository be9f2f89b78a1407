"""Test signers and HC1 codes built from scratch: keys and certificates made here, payloads with cbor2."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from pintu.rules import hc1

ES256, PS256 = -7, -37
NOW = datetime(2022, 6, 1, 12, 0, tzinfo=timezone.utc)
ID_KEY = b"site secret for tests"
EKU_TEST = "1.3.6.1.4.1.1847.2021.1.1"
EKU_VACCINATION = "1.3.6.1.4.1.1847.2021.1.2"
EKU_RECOVERY = "1.3.6.1.4.1.1847.2021.1.3"

NAME = {"fn": "Wibisono", "gn": "Ayu", "fnt": "WIBISONO", "gnt": "AYU"}
DOB = "1987-03-14"
CI = "URN:UVCI:01:ID:PEDULILINDUNGI0123456789#X"


@dataclass
class Signer:
    key: object
    cert: x509.Certificate
    alg: int

    @property
    def kid(self) -> bytes:
        return hc1.key_id(self.cert)


# Test signers outlive the wall clock (`trust import` refuses an expired signer), and were valid long before NOW.
SIGNER_FROM = NOW - timedelta(days=365)
SIGNER_UNTIL = NOW + timedelta(days=3650)


def make_signer(kind="ec", *, country="ID", eku=None, valid_from=SIGNER_FROM, valid_until=SIGNER_UNTIL) -> Signer:
    if kind == "ec":
        key, alg = ec.generate_private_key(ec.SECP256R1()), ES256
    else:
        key, alg = rsa.generate_private_key(public_exponent=65537, key_size=2048), PS256
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, country), x509.NameAttribute(NameOID.COMMON_NAME, "DSC test")]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]), False)
    return Signer(key, builder.sign(key, hashes.SHA256()), alg)


def vaccination(dn=2, sd=2, dt="2022-01-10", ci=CI):
    return {
        "v": [
            {
                "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
                "dn": dn, "sd": sd, "dt": dt, "co": "ID", "is": "Ministry of Health", "ci": ci,
            }
        ],
        "nam": NAME, "dob": DOB, "ver": "1.3.0",
    }  # fmt: skip


def lab_test(sc, tr=hc1.TEST_NOT_DETECTED, ci=CI, tt="LP6464-4"):
    return {
        "t": [{"tg": "840539006", "tt": tt, "sc": sc, "tr": tr, "tc": "Lab", "co": "ID", "is": "MoH", "ci": ci}],
        "nam": NAME, "dob": DOB, "ver": "1.3.0",
    }  # fmt: skip


def recovery(df, du, ci=CI, fr="2022-04-20"):
    return {
        "r": [{"tg": "840539006", "fr": fr, "df": df, "du": du, "co": "ID", "is": "MoH", "ci": ci}],
        "nam": NAME, "dob": DOB, "ver": "1.3.0",
    }  # fmt: skip


def claims(hcert=None, *, iat=NOW - timedelta(days=30), exp=NOW + timedelta(days=300), iss="ID"):
    c = {1: iss, 6: int(iat.timestamp()), 4: int(exp.timestamp())}
    c[-260] = {1: vaccination() if hcert is None else hcert}
    return c


def sign(signer: Signer, data: bytes, alg: int) -> bytes:
    if alg == ES256:
        r, s = decode_dss_signature(signer.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return signer.key.sign(data, pss, hashes.SHA256())


def cose(signer: Signer, payload=None, *, kid=None, kid_in="protected", alg=None, sign_with=None) -> bytes:
    """COSE_Sign1 bytes. `payload` is a claims dict or raw bytes; `sign_with` signs with another signer's key."""
    alg = signer.alg if alg is None else alg
    kid = signer.kid if kid is None else kid
    body = cbor2.dumps(claims() if payload is None else payload) if not isinstance(payload, bytes) else payload
    protected = {1: alg}
    unprotected = {}
    (protected if kid_in == "protected" else unprotected)[4] = kid
    protected_bytes = cbor2.dumps(protected)
    to_sign = cbor2.dumps(["Signature1", protected_bytes, b"", body])
    signature = sign(sign_with or signer, to_sign, alg)
    return cbor2.dumps(cbor2.CBORTag(18, [protected_bytes, unprotected, body, signature]))


def encode(cose_bytes: bytes) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(cose_bytes, 9)).decode("ascii")


def hc1_code(signer: Signer, payload=None, **kw) -> str:
    return encode(cose(signer, payload, **kw))
