"""A print-ready PDF sheet of cards on A4: `pintu card print --site SITE [--role staff] --out cards.pdf` issues one new
card for each person chosen and lays them out ten to a page at ID-1 size (85.6 x 54 mm, ISO/IEC 7810), with cut
lines, the QR code as vector squares, and names in the embedded TrueType font (any script the font covers)."""

import time

from pintu.data.files import write_private
from pintu.errors import PintuError
from pintu.registry.cards import BORDER, FONT_PATH, serial_of
from pintu.registry.sites import get_site
from pintu.registry.validate import check_choice
from pintu.rules import policy
from pintu.times import day_number, local_date

CARD_W, CARD_H = 85.6, 54.0  # mm, ID-1
COLUMNS, ROWS = 2, 5  # 171.2 x 270 mm on A4's 210 x 297
QR_MM = 46.0  # the code's side with its quiet zone: modules of ~0.85 mm


def _qr_cells(code):
    import segno

    return [list(row) for row in segno.make(code, error="m").matrix]


def _draw_card(pdf, x, y, code, name, site_name, issued, serial):
    pdf.set_draw_color(170)
    pdf.set_line_width(0.1)
    pdf.rect(x, y, CARD_W, CARD_H)  # the cut line
    matrix = _qr_cells(code)
    module = QR_MM / (len(matrix) + 2 * BORDER)
    top = y + (CARD_H - QR_MM) / 2
    pdf.set_fill_color(0)
    for row_number, row in enumerate(matrix):
        col = 0
        while col < len(row):  # one rectangle per run of dark modules
            if row[col]:
                run = col
                while run < len(row) and row[run]:
                    run += 1
                pdf.rect(x + 2 + (col + BORDER) * module, top + (row_number + BORDER) * module, (run - col) * module,
                         module, style="F")
                col = run
            else:
                col += 1
    text_x, text_w = x + QR_MM + 4, CARD_W - QR_MM - 7
    pdf.set_xy(text_x, y + 8)
    pdf.set_font("card", size=11)
    pdf.multi_cell(text_w, 5, name or "", align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_font("card", size=8)
    pdf.set_x(text_x)
    pdf.multi_cell(text_w, 4, site_name or "", align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(text_x, y + CARD_H - 13)
    pdf.set_font("card", size=7)
    pdf.multi_cell(text_w, 3.5, "issued %s\nserial %s" % (issued, serial), align="L")


def print_cards(data, site, out, role=None, at=None):
    """Issue a card for every registry person (of `role`, if given) for `site` and write them as a PDF sheet.
    -> {"site", "cards", "pages", "file"}."""
    from fpdf import FPDF

    if not str(out).lower().endswith(".pdf"):
        raise PintuError("the sheet file must end in .pdf")
    if role is not None:
        check_choice("role", role, policy.ROLES)
    site_row = get_site(data, site)
    issued = local_date(time.time() if at is None else at)
    persons = [row for row in data.store.list_persons() if role is None or row["role"] == role]
    if not persons:
        raise PintuError("no person to print a card for")
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_font("card", "", FONT_PATH)
    left = (210 - COLUMNS * CARD_W) / 2
    top = (297 - ROWS * CARD_H) / 2
    cards = []
    with data.store.write():
        for person in persons:
            cred_id, code = data.issuer.issue(day_number(issued))
            data.store.insert_credential(cred_id, person["id"], site_row["id"], issued)
            cards.append((code, person["name"], serial_of(cred_id)))
    for i, (code, name, serial) in enumerate(cards):
        slot = i % (COLUMNS * ROWS)
        if slot == 0:
            pdf.add_page()
        x = left + (slot % COLUMNS) * CARD_W
        y = top + (slot // COLUMNS) * CARD_H
        _draw_card(pdf, x, y, code, name, site_row["name"], issued, serial)
    try:
        write_private(out, bytes(pdf.output()))  # cards are credentials: owner-only
    except OSError as exc:
        raise PintuError("cannot write %s: %s" % (out, exc.strerror)) from None
    return {"site": site_row["id"], "cards": len(cards), "pages": pdf.pages_count, "file": str(out)}
