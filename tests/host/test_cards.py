"""Printable cards: PNG and SVG with the QR, the person's and the site's name; bad output names refused."""

import math
import os

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
    """-> (width, height, greyscale rows each led by one filter byte, as PNG stores them)."""
    from PIL import Image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(path).convert("L")
    width, height = image.size
    raw = image.tobytes()
    pixels = b"".join(b"\x00" + raw[y * width : (y + 1) * width] for y in range(height))
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


def test_png_is_300_dpi_owner_only_with_date_and_serial(data, budi, tmp_path):
    from PIL import Image

    result = cards.issue_card(data, budi, "kantor", tmp_path / "budi.png", at=NOW)
    assert os.stat(tmp_path / "budi.png").st_mode & 0o777 == 0o600
    dpi = Image.open(tmp_path / "budi.png").info["dpi"]
    assert [round(v) for v in dpi] == [300, 300]
    assert result["serial"] == "%s-%s" % (result["credential"][:4], result["credential"][4:8])
    assert result["issued"] == "2021-09-01"
    cards.issue_card(data, budi, "kantor", tmp_path / "budi.svg", at=NOW)
    assert "issued 2021-09-01" in (tmp_path / "budi.svg").read_text()


def _text_area(path):
    width, height, pixels = read_png(path)
    return pixels[width * (width + 1) :]


def test_non_ascii_names_are_drawn_not_question_marks(tmp_path):
    """The old bitmap font drew every letter it lacked as '?': 'Дмитрий' and '???????' gave the same card."""
    cards.write_card(tmp_path / "cyrillic.png", "PN1:ABC", "Дмитрий", "Site")
    cards.write_card(tmp_path / "marks.png", "PN1:ABC", "???????", "Site")
    cards.write_card(tmp_path / "accents.png", "PN1:ABC", "Ñoño Ütz", "Site")
    cards.write_card(tmp_path / "plain.png", "PN1:ABC", "Nono Utz", "Site")
    assert _text_area(tmp_path / "cyrillic.png") != _text_area(tmp_path / "marks.png")
    assert _text_area(tmp_path / "accents.png") != _text_area(tmp_path / "plain.png")


def test_pdf_sheet_of_cards_on_a4(data, site, tmp_path):
    from pintu.registry.card_sheet import print_cards

    names = ["Budi Santoso", "Дмитрий Иванов", "Σωκράτης", "Ñoño"] + ["Staf %d" % i for i in range(9)]
    for i, name in enumerate(names):
        registry.add_person(data, "3275%012d" % i, name, "staff" if i % 2 else "visitor")
    result = print_cards(data, "kantor", tmp_path / "cards.pdf", at=NOW)
    assert (result["cards"], result["pages"]) == (13, math.ceil(13 / 10))
    pdf = (tmp_path / "cards.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/FontFile2" in pdf and b"DejaVu" in pdf  # the TrueType font, embedded
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4
    assert os.stat(tmp_path / "cards.pdf").st_mode & 0o777 == 0o600
    staff = print_cards(data, "kantor", tmp_path / "staff.pdf", role="staff", at=NOW)
    assert staff["cards"] == 6
    assert registry.list_persons(data)[1]["cards"] == 2  # one card from each sheet
    with pytest.raises(PintuError, match=".pdf"):
        print_cards(data, "kantor", tmp_path / "cards.png")
