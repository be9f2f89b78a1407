"""Fake display parts for tests and the host's simulator: the framebuffer as lines of text, and an I2C bus that
records writes for the real ssd1306 driver. Not deployed (deploy's TEST_ONLY); loaded by hw_fake.FakeHardware only
for boards with a display."""


class FakeCanvas:
    """A display's framebuffer as text: text() calls by line (8 pixels each), show() records the screen as a tuple
    of lines ("display" in the Recorder). Holds a buffer the size of the panel's, as the real one does."""

    def __init__(self, recorder, width=128, height=64):
        self._rec = recorder
        self.buffer = bytearray(width * height // 8)
        self._rows = [""] * (height // 8)
        self.screen = ()  # the lines last shown, empty ones dropped from the end
        self.shows = 0

    def fill(self, colour):
        self._rows = [""] * len(self._rows)

    def text(self, s, x, y, colour=1):
        self._rows[y // 8] = " " * (x // 8) + s

    def show(self):
        rows = list(self._rows)
        while rows and not rows[-1]:
            rows.pop()
        self.screen = tuple(rows)
        self.shows += 1
        self._rec.record("display", self.screen)


class FakeI2C:
    """An I2C bus for the real ssd1306 driver: every write as (address, bytes)."""

    def __init__(self):
        self.writes = []

    def writeto(self, address, data):
        self.writes.append((address, bytes(data)))

    def writevto(self, address, parts):
        self.writes.append((address, b"".join(bytes(p) for p in parts)))
