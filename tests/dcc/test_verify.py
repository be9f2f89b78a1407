"""Each verification step, failing on a certificate built for it; and the good paths (ES256, PS256)."""

import zlib
from datetime import timedelta

import base45
import cbor2
import pytest

from pintu.rules import hc1
from pintu_protocol import verdicts

from .factory import ES256, ID_KEY, NOW, claims, cose, encode, hc1_code, lab_test, vaccination


def anchors(*signers):
    return hc1.index_anchors([s.cert for s in signers])


def step_of(code, trusted, now=NOW):
    with pytest.raises(hc1.DccError) as err:
        hc1.verify(code, trusted, now=now, id_key=ID_KEY)
    assert err.value.reason == hc1.STEPS[err.value.step]
    return err.value.step


def test_es256_valid(ec_signer):
    cert = hc1.verify(hc1_code(ec_signer), anchors(ec_signer), now=NOW, id_key=ID_KEY)
    assert cert.kid == ec_signer.kid and cert.issuer == "ID"
    assert cert.vaccinations == (hc1.Vaccination(2, 2, NOW.date().replace(month=1, day=10), "EU/1/20/1528"),)
    assert cert.doses == 2 and cert.tests == () and cert.recoveries == ()
    assert cert.holder_id == hc1.keyed_id("01:ID:PEDULILINDUNGI0123456789#X", ID_KEY)


def test_ps256_valid(rsa_signer, ec_signer):
    code = hc1_code(rsa_signer)
    cert = hc1.verify(code, anchors(ec_signer, rsa_signer), now=NOW, id_key=ID_KEY)
    assert cert.kid == rsa_signer.kid and cert.doses == 2


def test_kid_in_unprotected_header(ec_signer):
    code = hc1_code(ec_signer, kid_in="unprotected")
    assert hc1.verify(code, anchors(ec_signer), now=NOW, id_key=ID_KEY).kid == ec_signer.kid


def test_surrounding_whitespace_from_the_scanner_is_ignored(ec_signer):
    assert hc1.verify(hc1_code(ec_signer) + "\r\n", anchors(ec_signer), now=NOW, id_key=ID_KEY)


@pytest.mark.parametrize("code", ["", "HC2:6BF+70790", "hc1:6BF", "NCFTW2MVPYUO433", "https://example.org/HC1:"])
def test_wrong_prefix(ec_signer, code):
    assert step_of(code, anchors(ec_signer)) == "wrong_prefix"


def test_too_large(ec_signer):
    assert step_of("HC1:" + "A" * hc1.MAX_CODE_CHARS, anchors(ec_signer)) == "too_large"


@pytest.mark.parametrize("body", ["", "a", "abc", "::::", "ÄÖÜ", "GGW"])  # lower case, bad length, out of range
def test_bad_base45(ec_signer, body):
    assert step_of("HC1:" + body, anchors(ec_signer)) == "base45"


@pytest.mark.parametrize(
    "blob",
    [
        b"not zlib at all",
        zlib.compress(b"x" * 100)[:-6],  # truncated stream
        zlib.compress(b"x" * 100) + b"trailing",
        zlib.compress(b"\0" * (hc1.MAX_PAYLOAD_BYTES + 1)),  # a (small) zip bomb
    ],
    ids=["garbage", "truncated", "trailing", "bomb"],
)
def test_bad_zlib(ec_signer, blob):
    code = "HC1:" + base45.b45encode(blob).decode()
    assert step_of(code, anchors(ec_signer)) == "zlib"


def test_zip_bomb_of_many_megabytes_is_refused_quickly(ec_signer):
    bomb = zlib.compress(b"\0" * (50 * 1024 * 1024), 9)  # ~50 KiB of input, 50 MiB if inflated
    assert len(bomb) < 60_000
    with pytest.raises(hc1.DccError) as err:
        hc1.verify("HC1:" + base45.b45encode(bomb).decode(), anchors(ec_signer), now=NOW, id_key=ID_KEY)
    assert err.value.step in ("zlib", "too_large")
    # And below the QR size cap (zlib tops out near 1000:1), the same at 4 MiB:
    small_bomb = zlib.compress(b"\0" * (4 * 1024 * 1024), 9)
    code = "HC1:" + base45.b45encode(small_bomb).decode()
    assert len(code) < hc1.MAX_CODE_CHARS
    assert step_of(code, anchors(ec_signer)) == "zlib"


@pytest.mark.parametrize(
    "blob",
    [b"\xff\xff", b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff", b"\xa2\x01\x01\x01\x02", b"\x81" * 1000],
    ids=["break", "huge-length", "duplicate-key", "deep"],
)
def test_bad_cbor(ec_signer, blob):
    assert step_of(encode(blob), anchors(ec_signer)) == "cbor"


@pytest.mark.parametrize(
    "message",
    [
        cbor2.CBORTag(18, [b"", {}, b""]),  # three elements
        cbor2.CBORTag(98, [b"", {}, b"", b""]),  # COSE_Sign, not COSE_Sign1
        cbor2.CBORTag(18, ["", {}, b"", b""]),  # protected header as text
        cbor2.CBORTag(18, [b"\xff", {}, b"", b""]),  # protected header not CBOR
        cbor2.CBORTag(18, [cbor2.dumps([1]), {}, b"", b""]),  # protected header not a map
        cbor2.CBORTag(18, [cbor2.dumps({1: -35}), {4: b"12345678"}, b"", b""]),  # ES384: not accepted
        cbor2.CBORTag(18, [b"", {4: b"12345678"}, b"", b""]),  # no algorithm
        {"not": "cose"},
    ],
)
def test_bad_cose(ec_signer, message):
    assert step_of(encode(cbor2.dumps(message)), anchors(ec_signer)) == "cose"


def test_untagged_cose_sign1_is_accepted(ec_signer):
    tagged = cbor2.loads(cose(ec_signer))
    code = encode(cbor2.dumps(tagged.value))
    assert hc1.verify(code, anchors(ec_signer), now=NOW, id_key=ID_KEY).doses == 2


def test_unknown_kid(ec_signer, other_ec_signer):
    assert step_of(hc1_code(ec_signer), anchors(other_ec_signer)) == "unknown_kid"
    assert step_of(hc1_code(ec_signer), {}) == "unknown_kid"


def test_missing_kid(ec_signer):
    assert step_of(hc1_code(ec_signer, kid=b""), anchors(ec_signer)) == "unknown_kid"


def test_signature_by_the_wrong_key(ec_signer, other_ec_signer):
    # Claims the trusted signer's key id, but is signed by another key.
    code = hc1_code(ec_signer, sign_with=other_ec_signer)
    assert step_of(code, anchors(ec_signer, other_ec_signer)) == "signature"


def test_signature_of_another_payload(ec_signer):
    good = cbor2.loads(cose(ec_signer))
    other = cbor2.loads(cose(ec_signer, claims(vaccination(dn=3, sd=3))))
    forged = cbor2.CBORTag(18, [good.value[0], good.value[1], other.value[2], good.value[3]])
    assert step_of(encode(cbor2.dumps(forged)), anchors(ec_signer)) == "signature"


def test_algorithm_must_match_the_key(ec_signer, rsa_signer):
    # An EC anchor never verifies a PS256 claim and an RSA anchor never an ES256 one.
    code = hc1_code(rsa_signer, kid=ec_signer.kid)
    assert step_of(code, anchors(ec_signer)) == "signature"
    assert step_of(hc1_code(ec_signer, alg=ES256, kid=rsa_signer.kid), anchors(rsa_signer)) == "signature"


def test_colliding_kid_tries_every_anchor(ec_signer, other_ec_signer):
    trusted = {ec_signer.kid: [other_ec_signer.cert, ec_signer.cert]}
    assert hc1.verify(hc1_code(ec_signer), trusted, now=NOW, id_key=ID_KEY).kid == ec_signer.kid


def test_not_yet_valid(ec_signer):
    code = hc1_code(ec_signer, claims(iat=NOW + timedelta(hours=1)))
    assert step_of(code, anchors(ec_signer)) == "not_yet_valid"
    assert hc1.verify(code, anchors(ec_signer), now=NOW + timedelta(hours=2), id_key=ID_KEY)


def test_expired(ec_signer):
    code = hc1_code(ec_signer, claims(exp=NOW - timedelta(seconds=1)))
    assert step_of(code, anchors(ec_signer)) == "expired"
    assert hc1.verify(code, anchors(ec_signer), now=NOW - timedelta(seconds=2), id_key=ID_KEY)


def test_expiry_reason_codes(ec_signer):
    expired = hc1.check(hc1_code(ec_signer, claims(exp=NOW - timedelta(seconds=1))), anchors(ec_signer), now=NOW,
                        id_key=ID_KEY)
    assert (expired.verdict, expired.reason) == (verdicts.INVALID, verdicts.R_EXPIRED)
    early = hc1.check(hc1_code(ec_signer, claims(iat=NOW + timedelta(1))), anchors(ec_signer), now=NOW, id_key=ID_KEY)
    assert (early.verdict, early.reason) == (verdicts.INVALID, verdicts.R_NOT_YET_VALID)


@pytest.mark.parametrize(
    "payload",
    [
        cbor2.dumps([1, 2, 3]),  # claims not a map
        cbor2.dumps({1: "ID", 4: 2_000_000_000, -260: {1: vaccination()}}),  # no iat
        cbor2.dumps({1: "ID", 6: 1_600_000_000, -260: {1: vaccination()}}),  # no exp
        cbor2.dumps({1: "ID", 6: "yesterday", 4: 2_000_000_000, -260: {1: vaccination()}}),
        cbor2.dumps({1: "ID", 6: 1_600_000_000, 4: 10**30, -260: {1: vaccination()}}),  # exp out of range
        cbor2.dumps({1: "ID", 6: 1_600_000_000, 4: float("nan"), -260: {1: vaccination()}}),
        cbor2.dumps({1: 42, 6: 1_600_000_000, 4: 2_000_000_000, -260: {1: vaccination()}}),  # iss not text
    ],
)
def test_bad_claims(ec_signer, payload):
    assert step_of(hc1_code(ec_signer, payload), anchors(ec_signer)) == "cwt"


def test_signed_payload_that_is_not_cbor(ec_signer):
    assert step_of(hc1_code(ec_signer, b"\xff\x00garbage"), anchors(ec_signer)) == "cbor"


@pytest.mark.parametrize(
    "hcert",
    [
        {"nam": {"fn": "X"}, "dob": "2000-01-01", "ver": "1.3.0"},  # no v, t or r at all
        {"v": []},
        {"v": "2 doses"},
        {"v": [{"dn": "2", "sd": 2, "ci": "X"}]},
        {"v": [{"dn": 2, "sd": True, "ci": "X"}]},
        {"v": [{"dn": 2, "sd": 2}]},  # no ci
        {"t": [{"sc": "soon", "tr": "260415000", "ci": "X"}]},
        {"r": [{"df": "2022-01-01", "ci": "X"}]},
    ],
)
def test_bad_health_certificate(ec_signer, hcert):
    # refused by the DCC schema 1.3 check (dcc_schema.py; every rule of it in test_schema.py)
    assert step_of(hc1_code(ec_signer, claims(hcert)), anchors(ec_signer)) == "schema"


def test_missing_health_certificate(ec_signer):
    payload = claims()
    del payload[-260]
    assert step_of(hc1_code(ec_signer, payload), anchors(ec_signer)) == "hcert"


def test_signer_key_usage_limits_certificate_types(vaccination_only_signer, test_only_signer):
    sc = (NOW - timedelta(hours=1)).isoformat()
    trusted = anchors(vaccination_only_signer, test_only_signer)
    assert hc1.verify(hc1_code(vaccination_only_signer), trusted, now=NOW, id_key=ID_KEY)
    assert hc1.verify(hc1_code(test_only_signer, claims(lab_test(sc))), trusted, now=NOW, id_key=ID_KEY)
    assert step_of(hc1_code(test_only_signer), trusted) == "key_usage"
    assert step_of(hc1_code(vaccination_only_signer, claims(lab_test(sc))), trusted) == "key_usage"


def test_holder_id_is_keyed_and_stable(ec_signer):
    code = hc1_code(ec_signer)
    trusted = anchors(ec_signer)
    a = hc1.verify(code, trusted, now=NOW, id_key=b"one").holder_id
    b = hc1.verify(code, trusted, now=NOW, id_key=b"two").holder_id
    assert a != b and len(a) == 64
    assert a == hc1.verify(hc1_code(ec_signer), trusted, now=NOW, id_key=b"one").holder_id  # new signature, same ci
    assert hc1.keyed_id("URN:UVCI:01:ID:ABC#1", b"k") == hc1.keyed_id("01:id:abc#1", b"k")


def test_result_carries_nothing_personal(ec_signer):
    from .factory import CI, DOB, NAME

    cert = hc1.verify(hc1_code(ec_signer), anchors(ec_signer), now=NOW, id_key=ID_KEY)
    text = repr(cert)
    # The vaccine product code (mp) is kept since VR-EU-0001 made it a policy input; it says nothing about the person.
    for personal in [*NAME.values(), DOB, CI, CI.split(":")[-1], "Ministry"]:
        assert personal not in text


def test_caller_errors_are_not_hidden(ec_signer):
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(ValueError):
        hc1.verify(hc1_code(ec_signer), anchors(ec_signer), now=naive, id_key=ID_KEY)
    with pytest.raises(ValueError):
        hc1.verify(hc1_code(ec_signer), anchors(ec_signer), now=NOW, id_key=b"")
