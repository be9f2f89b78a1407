"""Printable visitor cards: issue or revoke a person's credential and draw it as a QR code with the person's and the
site's name, the issue date and a short serial; one card as PNG (300 dpi) or SVG, or a PDF sheet of many on A4
(card_sheet.py).

Names are drawn with DejaVu Sans, a TrueType font shipped inside the package (fonts/, its licence beside it), so a
card prints the same on any machine and offline: Latin with every accent, Greek, Cyrillic, Arabic, Hebrew and more.
"""

import io
import os
import time
from xml.sax.saxutils import escape

import segno

from pintu.data.files import write_private
from pintu.errors import PintuError
from pintu.registry import find_person, get_site
from pintu.times import day_number, local_date

FORMATS = (".png", ".svg")
DPI = 300  # written into the PNG (pHYs), so a print dialog sizes the card right
MODULE_PX = 9  # PNG pixels per QR module: 0.76 mm at 300 dpi, comfortably read by door scanners
BORDER = 4  # quiet zone in modules, as the QR standard asks
FONT_PATH = os.path.join(os.path.dirname(__file__), "fonts", "DejaVuSans.ttf")


def serial_of(cred_id):
    """The short serial printed on a card: the first 4 bytes of its credential id, as the record shows it."""
    text = bytes(cred_id).hex()[:8]
    return "%s-%s" % (text[:4], text[4:])


def issue_card(data, nik, site, out=None, at=None):
    """Issue a new credential for the person with this NIK and, if out is given, write the card there.
    Earlier cards stay valid until revoked. -> {"code", "credential", "person", "site", "file"}."""
    if out is not None and not str(out).lower().endswith(FORMATS):
        raise PintuError("card file must end in %s" % " or ".join(FORMATS))
    at = time.time() if at is None else at
    issued = local_date(at)
    with data.store.write():
        person = find_person(data, nik)
        site_row = get_site(data, site)
        cred_id, code = data.issuer.issue(day_number(issued))
        data.store.insert_credential(cred_id, person["id"], site_row["id"], issued)
    if out is not None:
        write_card(out, code, person["name"], site_row["name"], issued, serial_of(cred_id))
    return {
        "code": code,
        "credential": cred_id.hex(),
        "serial": serial_of(cred_id),
        "issued": issued,
        "person": person["id"],
        "site": site_row["id"],
        "file": None if out is None else str(out),
    }


def revoke_cards(data, nik, at=None):
    """Revoke every card of the person: they scan INVALID (revoked) from now on. -> {"person", "revoked"}."""
    with data.store.write():
        person = find_person(data, nik)
        count = data.store.revoke_credentials(person["id"], int(time.time() if at is None else at))
    return {"person": person["id"], "revoked": count}


def write_card(path, code, name, site_name, issued="", serial=""):
    qr = segno.make(code, error="m")
    path = str(path)
    if path.lower().endswith(".svg"):
        body = card_svg(qr, name, site_name, issued, serial)
    else:
        body = card_png(qr, name, site_name, issued, serial)
    try:
        write_private(path, body)  # a card is a credential: only its printer reads the file
    except OSError as exc:
        raise PintuError("cannot write %s: %s" % (path, exc.strerror)) from None


def font(size_px):
    from PIL import ImageFont

    return ImageFont.truetype(FONT_PATH, size_px)


def wrap(text, fits):
    """Words into lines for which fits(line) holds; a word too long alone is cut."""
    lines, line = [], ""
    for word in text.split():
        while not fits(word) and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and not fits(word[:cut]):
                cut -= 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = word if not line else line + " " + word
        if fits(candidate):
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def card_png(qr, name, site_name, issued="", serial=""):
    """A portrait card: the QR code, then the name (large), the site, the issue date and serial. -> PNG bytes."""
    from PIL import Image, ImageDraw

    matrix = [list(row) for row in qr.matrix]
    width = (len(matrix) + 2 * BORDER) * MODULE_PX
    big, small = font(width // 14), font(width // 20)
    draw_probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    margin = width // 12

    def fits(f):
        return lambda text: draw_probe.textlength(text, font=f) <= width - 2 * margin

    lines = [(line, big) for line in wrap(name or "", fits(big))]
    lines += [(line, small) for line in wrap(site_name or "", fits(small))]
    lines += [(" · ".join(x for x in ("issued " + issued if issued else "", serial) if x), small)]
    line_h = {big: int(big.size * 1.3), small: int(small.size * 1.3)}
    height = width + sum(line_h[f] for _, f in lines) + margin
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                left, top = (x + BORDER) * MODULE_PX, (y + BORDER) * MODULE_PX
                draw.rectangle((left, top, left + MODULE_PX - 1, top + MODULE_PX - 1), fill=0)
    top = width
    for text, f in lines:
        draw.text((width // 2, top), text, font=f, fill=0, anchor="mt")
        top += line_h[f]
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(DPI, DPI), optimize=True)
    return out.getvalue()


def card_svg(qr, name, site_name, issued="", serial=""):
    matrix = [list(row) for row in qr.matrix]
    size = len(matrix) + 2 * BORDER
    path = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                run = x
                while run < len(row) and row[run]:
                    run += 1
                path.append("M%d %dh%dv1h-%dz" % (x + BORDER, y + BORDER, run - x, run - x))
                x = run
            else:
                x += 1
    height = size + 16
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%dmm" height="%dmm">\n'
        '<rect width="100%%" height="100%%" fill="#fff"/>\n'
        '<path fill="#000" d="%s"/>\n'
        '<text x="%g" y="%d" font-family="sans-serif" font-size="3.2" text-anchor="middle" font-weight="bold">'
        "%s</text>\n"
        '<text x="%g" y="%d" font-family="sans-serif" font-size="2.6" text-anchor="middle">%s</text>\n'
        '<text x="%g" y="%d" font-family="sans-serif" font-size="2.2" text-anchor="middle">%s</text>\n'
        "</svg>\n"
        % (
            size,
            height,
            size,
            height,
            "".join(path),
            size / 2,
            size + 3,
            escape(name or ""),
            size / 2,
            size + 8,
            escape(site_name or ""),
            size / 2,
            size + 12,
            escape(" · ".join(x for x in ("issued " + issued if issued else "", serial) if x)),
        )
    ).encode("utf-8")
