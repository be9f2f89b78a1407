"""Printable visitor cards: issue or revoke a person's credential and draw it as a QR code with name and site.

PNG is drawn here with a built-in 5x7 bitmap font (no imaging library needed); SVG uses real text.
"""

import struct
import time
import zlib
from xml.sax.saxutils import escape

import segno

from pintu.data.files import write_private
from pintu.errors import PintuError
from pintu.registry import find_person, get_site
from pintu.times import day_number, local_date

FORMATS = (".png", ".svg")
MODULE_PX = 6  # PNG pixels per QR module: ~1 mm at 150 dpi, comfortably read by door scanners
BORDER = 4  # quiet zone in modules, as the QR standard asks
TEXT_SCALE = 3  # PNG pixels per font pixel

# 5x7 glyphs, rows top to bottom, '#' = ink. Names are drawn in capitals; unknown characters as '?'.
_GLYPHS = {
    " ": "..... ..... ..... ..... ..... ..... .....",
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "-": "..... ..... ..... ##### ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "/": "..... ....# ...#. ..#.. .#... #.... .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
}
_FONT = {ch: [row.replace(".", " ") for row in rows.split()] for ch, rows in _GLYPHS.items()}


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
        write_card(out, code, person["name"], site_row["name"])
    return {
        "code": code,
        "credential": cred_id.hex(),
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


def write_card(path, code, name, site_name):
    qr = segno.make(code, error="m")
    path = str(path)
    body = card_svg(qr, name, site_name) if path.lower().endswith(".svg") else card_png(qr, name, site_name)
    try:
        write_private(path, body)  # a card is a credential: only its printer reads the file
    except OSError as exc:
        raise PintuError("cannot write %s: %s" % (path, exc.strerror)) from None


def _wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def card_png(qr, name, site_name):
    matrix = [list(row) for row in qr.matrix]
    size = len(matrix) + 2 * BORDER
    width = size * MODULE_PX
    advance = 6 * TEXT_SCALE
    per_line = max(1, (width - 2 * advance) // advance)
    lines = _wrap((name or "").upper(), per_line) + [""] + _wrap((site_name or "").upper(), per_line)
    line_h = 10 * TEXT_SCALE
    height = width + len(lines) * line_h + 2 * TEXT_SCALE * 3
    pixels = [bytearray(b"\xff" * width) for _ in range(height)]
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(MODULE_PX):
                    start = (x + BORDER) * MODULE_PX
                    pixels[(y + BORDER) * MODULE_PX + dy][start : start + MODULE_PX] = b"\x00" * MODULE_PX
    top = width
    for i, line in enumerate(lines):
        left = (width - len(line) * advance) // 2
        for j, ch in enumerate(line):
            glyph = _FONT.get(ch, _FONT["?"])
            for gy, glyph_row in enumerate(glyph):
                for gx, ink in enumerate(glyph_row):
                    if ink != " ":
                        for dy in range(TEXT_SCALE):
                            x0 = left + j * advance + gx * TEXT_SCALE
                            pixels[top + i * line_h + gy * TEXT_SCALE + dy][x0 : x0 + TEXT_SCALE] = b"\x00" * TEXT_SCALE
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    return _png(width, height, raw)


def _png(width, height, raw):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def card_svg(qr, name, site_name):
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
    height = size + 12
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%dmm" height="%dmm">\n'
        '<rect width="100%%" height="100%%" fill="#fff"/>\n'
        '<path fill="#000" d="%s"/>\n'
        '<text x="%g" y="%d" font-family="sans-serif" font-size="3.2" text-anchor="middle" font-weight="bold">'
        "%s</text>\n"
        '<text x="%g" y="%d" font-family="sans-serif" font-size="2.6" text-anchor="middle">%s</text>\n'
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
        )
    ).encode("utf-8")
