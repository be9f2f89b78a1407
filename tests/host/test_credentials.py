"""Signed card tokens: compact, QR-alphanumeric, verified, and refused when altered or forged."""

import base45
import pytest

from pintu.rules.credentials import PREFIX, TOKEN_LEN, Issuer, new_key
from pintu_protocol.verdicts import R_FORGED, R_OK, R_UNREADABLE

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.fixture
def issuer():
    return Issuer(new_key())


def test_round_trip(issuer):
    cred_id, code = issuer.issue(18871)
    reading = issuer.read(code)
    assert reading.reason == R_OK
    assert (reading.cred_id, reading.issue_day) == (cred_id, 18871)


def test_token_is_short_and_qr_alphanumeric(issuer):
    _, code = issuer.issue(18871)
    assert code.startswith(PREFIX)
    assert len(code) <= 120
    assert set(code) <= QR_ALPHANUMERIC


def test_another_hosts_card_is_forged(issuer):
    _, code = Issuer(new_key()).issue(18871)
    assert issuer.read(code).reason == R_FORGED


def test_altered_body_is_forged(issuer):
    _, code = issuer.issue(18871)
    raw = bytearray(base45.b45decode(code[len(PREFIX) :]))
    raw[3] ^= 1
    assert issuer.read(PREFIX + base45.b45encode(bytes(raw)).decode()).reason == R_FORGED


@pytest.mark.parametrize("code", ["", "PN1:", "PN1:!!!!", "PN1:" + "A" * 30, "PN2:ABC", "hello", "PN1:" + "0" * 200])
def test_garbage_is_unreadable(issuer, code):
    assert issuer.read(code).reason == R_UNREADABLE


def test_wrong_length_is_unreadable(issuer):
    _, code = issuer.issue(1)
    raw = base45.b45decode(code[len(PREFIX) :])
    assert len(raw) == TOKEN_LEN
    assert issuer.read(PREFIX + base45.b45encode(raw + b"x").decode()).reason == R_UNREADABLE
