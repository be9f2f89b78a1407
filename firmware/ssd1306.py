"""An SSD1306 OLED (128x64 or 128x32) on I2C: a framebuf.FrameBuffer whose show() copies it to the panel.

Written for Pintu from the SSD1306 datasheet's power-on sequence (internal charge pump, horizontal addressing), so
that nothing needs vendoring: display.py draws on it, hw.Esp32Hardware.display builds it from the board file."""

import framebuf

_CONTROL_COMMAND = b"\x80"
_CONTROL_DATA = b"\x40"


def init_commands(height):
    return bytes((
        0xAE,  # display off while it is set up
        0xD5, 0x80,  # clock divide ratio / oscillator: the datasheet's reset value
        0xA8, height - 1,  # multiplex ratio: one per row
        0xD3, 0x00,  # no display offset
        0x40,  # start line 0
        0x8D, 0x14,  # charge pump on (the common modules have no external VCC)
        0x20, 0x00,  # horizontal addressing: one write of the whole buffer fills the panel
        0xA1, 0xC8,  # segment remap and COM scan reversed: (0, 0) top left on the usual modules
        0xDA, 0x12 if height == 64 else 0x02,  # COM pins: alternative for 64 rows, sequential for 32
        0x81, 0xCF,  # contrast
        0xD9, 0xF1,  # pre-charge period for the internal charge pump
        0xDB, 0x40,  # VCOMH deselect level
        0xA4,  # show the RAM
        0xA6,  # not inverted
        0xAF,  # display on
    ))


class Ssd1306(framebuf.FrameBuffer):
    def __init__(self, i2c, width=128, height=64, address=0x3C):
        self.width = width
        self.height = height
        self.buffer = bytearray(width * height // 8)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self._i2c = i2c
        self._address = address
        for c in init_commands(height):
            self._command(c)
        self.fill(0)
        self.show()

    def _command(self, c):
        self._i2c.writeto(self._address, _CONTROL_COMMAND + bytes((c,)))

    def show(self):
        for c in (0x21, 0, self.width - 1, 0x22, 0, self.height // 8 - 1):  # the whole panel as the window
            self._command(c)
        self._i2c.writevto(self._address, (_CONTROL_DATA, self.buffer))
