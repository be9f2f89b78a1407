"""Printable cards: PNG and SVG with the QR, the person's and the site's name; bad output names refused."""

import struct
import zlib

import pytest

from pintu import registry
from pintu.errors import PintuError
from pintu.registry import cards

from .conftest import NIK, NOW


@pytest.fixture
def budi(data, site):
    registry.add_person(data, NIK["budi"], "Budi <Santoso> & Co", "staff")
    return NIK["budi"]


def read_png(path):
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", raw[16:24])
    idat = raw.index(b"IDAT")
    length = struct.unpack(">I", raw[idat - 4 : idat])[0]
    pixels = zlib.decompress(raw[idat + 4 : idat + 4 + length])
    assert len(pixels) == height * (width + 1)
    return width, height, pixels


def test_png_card(data, budi, tmp_path):
    result = cards.issue_card(data, budi, "kantor", tmp_path / "budi.png", at=NOW)
    assert result["code"].startswith("PN1:") and result["site"] == "kantor"
    width, height, pixels = read_png(tmp_path / "budi.png")
    assert height > width  # the names sit under the QR code
    assert b"\x00" in pixels[width * (width + 1) :]  # ink in the text area


def test_svg_card(data, budi, tmp_path):
    cards.issue_card(data, budi, "kantor", tmp_path / "budi.svg", at=NOW)
    svg = (tmp_path / "budi.svg").read_text()
    assert svg.startswith("<?xml") and "<path" in svg
    assert "Budi &lt;Santoso&gt; &amp; Co" in svg and "Kantor Walikota" in svg


def test_qr_encodes_the_code(data, budi):
    import segno

    code = cards.issue_card(data, budi, "kantor", at=NOW)["code"]
    qr = segno.make(code, error="m")
    assert qr.mode == "alphanumeric"


def test_bad_output_name(data, budi, tmp_path):
    with pytest.raises(PintuError, match=".png or .svg"):
        cards.issue_card(data, budi, "kantor", tmp_path / "budi.jpg")


def test_unknown_site_or_person(data, budi):
    with pytest.raises(PintuError, match="unknown site"):
        cards.issue_card(data, budi, "nowhere")
    with pytest.raises(PintuError, match="no person"):
        cards.issue_card(data, NIK["sari"], "kantor")


def test_every_character_has_a_glyph_or_a_stand_in(data, budi, tmp_path):
    cards.write_card(tmp_path / "x.png", "PN1:ABC", "Ñoño Ütz 123 (a/b) 'c', d: e-f.g & h?", "Site")
    read_png(tmp_path / "x.png")
