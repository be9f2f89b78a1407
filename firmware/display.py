"""What a door unit with a display shows: the verdict in words, on RED the referral clinic from the VERDICT, the
occupancy ("12/40"), and while idle an invitation to scan. Bahasa Indonesia by default, English by board option
("display": {"lang": "en"}). Only boards with a display load this module (unit.build).

The canvas is anything with fill(c), text(s, x, y, c) and show(): ssd1306.Ssd1306 on a board (a framebuf with the
8x8 font: 16 characters by 8 lines on 128x64), hw_fake.FakeCanvas in tests and the simulator."""

from pintu_protocol import verdicts

# By verdict code 0-7 (verdicts.GREEN ... OFFLINE), then: an unknown code (a refusal), the idle screen, and the word
# put before the referral clinic on RED. ASCII only: the display's font has nothing else.
TEXTS = {
    "id": ("Silakan masuk", "Mohon tunggu petugas", "Belum vaksin -", "Dilarang masuk - hubungi petugas",
           "Penuh, mohon tunggu", "Kode tidak sah", "Sampai jumpa", "Tidak terhubung - hubungi petugas",
           "Ditolak - hubungi petugas", "Silakan pindai kode QR", "ke"),
    "en": ("Please come in", "Please wait for the guard", "Not vaccinated -", "No entry - see the guard",
           "Full, please wait", "Invalid code", "Goodbye", "Offline - see the guard", "Refused - see the guard",
           "Please scan your QR code", "go to"),
}
LANGS = ("id", "en")
_UNKNOWN = 8
_IDLE = 9
_TO = 10


def wrap(text, width):
    """Lines of at most width characters, broken between words (a longer word is cut)."""
    lines = []
    line = ""
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


class Display:
    def __init__(self, canvas, lang="id", width=128, height=64):
        self._canvas = canvas
        self._texts = TEXTS.get(lang, TEXTS["id"])
        self._cols = width // 8
        self._rows = height // 8
        self._occupancy = ""  # the last "inside/capacity" a VERDICT told, kept for the idle screen

    def show(self, code, verdict=None):
        """A verdict code just shown (a host VERDICT, or OFFLINE with verdict None)."""
        t = self._texts
        text = t[code] if 0 <= code < _UNKNOWN else t[_UNKNOWN]
        if code == verdicts.RED and verdict is not None and verdict.referral:
            text = "%s %s %s" % (text, t[_TO], verdict.referral)  # "Belum vaksin - ke Puskesmas Karang Kitri"
        elif code == verdicts.RED:
            text = text[:-2]
        if verdict is not None and verdict.capacity:
            self._occupancy = "%d/%d" % (verdict.occupancy, verdict.capacity)
        self._draw(text)

    def idle(self):
        self._draw(self._texts[_IDLE])

    def _draw(self, text):
        canvas = self._canvas
        lines = wrap(text, self._cols)[: self._rows - 2]
        canvas.fill(0)
        for i, line in enumerate(lines):
            canvas.text(line, 0, i * 8, 1)
        if self._occupancy:
            canvas.text(self._occupancy, 0, (self._rows - 1) * 8, 1)  # the bottom line
        canvas.show()
