"""HMAC-SHA256 and CRC-16 against published check values."""

from pintu_protocol.auth import Signer, compare_digest, hmac_sha256
from pintu_protocol.stream import crc16

# RFC 4231 test cases 1, 2 and 6 (the last with a key longer than the block).
RFC4231 = (
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
)


def test_hmac_rfc4231():
    for key, data, expected in RFC4231:
        assert hmac_sha256(key, data).hex() == expected


def test_tag_is_truncated_hmac_and_verifies():
    key = bytes(range(32))
    signer = Signer(key)
    tag = signer.tag(b"frame")
    assert tag == hmac_sha256(key, b"frame")[:8]
    assert signer.verify(b"frame", tag)
    assert not signer.verify(b"framf", tag)
    assert not signer.verify(b"frame", tag[:7])


def test_compare_digest():
    assert compare_digest(b"abc", b"abc")
    assert not compare_digest(b"abc", b"abd")
    assert not compare_digest(b"abc", b"ab")
    assert compare_digest(b"", b"")


def test_crc16_check_values():
    # CRC-16/CCITT-FALSE and CRC-16/XMODEM check values over "123456789".
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"123456789", 0) == 0x31C3


def test_crc16_matches_scanner_vendor_frames():
    # GM65/GM861 frames from the vendor manual: CRC over type..data, from 0.
    assert crc16(bytes.fromhex("0901000000"), 0) == 0xDEC8  # save to flash
    assert crc16(bytes.fromhex("080200 2a1a00".replace(" ", "")), 0) == 0xE47E  # 115200 baud
