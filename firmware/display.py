"""What a door unit with a display shows: the verdict in words, on RED the referral clinic from the VERDICT, the
occupancy ("12/40"), and while idle an invitation to scan. Bahasa Indonesia by default, English by board option
("display": {"lang": "en"}). Only boards with a display load this module (unit.build).

The canvas is anything with fill(c), text(s, x, y, c) and show(): ssd1306.Ssd1306 on a board (a framebuf with the
8x8 font: 16 characters by 8 lines on 128x64), fake_display.FakeCanvas in tests and the simulator."""

from pintu_protocol import verdicts

# By verdict code 0-9 (verdicts.GREEN ... OFFLINE, HOLD, GUARD_IDLE), then: an unknown code (a refusal), the idle
# screen, and the word put before the referral clinic on RED. ASCII only: the display's font has nothing else.
TEXTS = {
    "id": ("Silakan masuk", "Mohon tunggu petugas", "Belum vaksin -", "Dilarang masuk - hubungi petugas",
           "Penuh, mohon tunggu", "Kode tidak sah", "Sampai jumpa", "Tidak terhubung - hubungi petugas",
           "Mohon tunggu petugas", "Tidak ada yang menunggu", "Ditolak - hubungi petugas", "Silakan pindai kode QR",
           "ke"),
    "en": ("Please come in", "Please wait for the guard", "Not vaccinated -", "No entry - see the guard",
           "Full, please wait", "Invalid code", "Goodbye", "Offline - see the guard", "Please wait for the guard",
           "Nothing to confirm", "Refused - see the guard", "Please scan your QR code", "go to"),
}
LANGS = ("id", "en")
_UNKNOWN = 10
_IDLE = 11
_TO = 12


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


def check(spec, errors):
    """Problems of a board file's "display" appended to errors. -> its (name, GPIO) pairs, for board.py to check."""
    if not isinstance(spec, dict):
        errors.append("display must be an object")
        return ()
    if spec.get("kind") != "ssd1306":
        errors.append("display.kind must be ssd1306")
    if spec.get("lang", "id") not in LANGS:
        errors.append("display.lang must be id or en")
    if (spec.get("width", 128), spec.get("height", 64)) not in ((128, 64), (128, 32)):
        errors.append("display must be 128x64 or 128x32")
    return (("display.sda", spec.get("sda")), ("display.scl", spec.get("scl")))


def attach(app, spec, hardware):
    """Give a unit its display (unit.build, for boards whose file has one), showing the idle screen."""
    app.display = Display(hardware.display(spec), spec.get("lang", "id"), spec.get("width", 128),
                          spec.get("height", 64))
    app.display.idle()


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
