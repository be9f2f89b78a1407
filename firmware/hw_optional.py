"""Board adapters only some units use: a WS2812 pixel as the LEDs, Wi-Fi for the MQTT link, an OLED display.

Apart from hw.py so that a unit without them does not load them: every module a unit imports stays on its heap.
Esp32Hardware imports this module when a board asks for one of them."""

from firmware.clock import ticks_diff, ticks_ms


class PixelLed:
    """One WS2812 pixel (neopixel): a colour name becomes an RGB value, dimmed so it does not dazzle."""

    RGB = {"off": (0, 0, 0), "green": (0, 255, 0), "yellow": (255, 160, 0), "red": (255, 0, 0),
           "white": (255, 255, 255)}

    def __init__(self, pixels, brightness=64):
        self._np = pixels  # object with __setitem__ and write()
        self._scale = brightness
        self.show("off")

    def show(self, colour):
        r, g, b = self.RGB.get(colour, (255, 0, 0))
        s = self._scale
        self._np[0] = (r * s // 255, g * s // 255, b * s // 255)
        self._np.write()


class Wifi:
    """network.WLAN in station mode. connect() returns at once; while an association is under way it is left alone
    (calling WLAN.connect again would restart it), and retried after WIFI_RETRY_MS."""

    WIFI_RETRY_MS = 15000

    def __init__(self, ssid, password):
        import network

        self._wlan = network.WLAN(network.STA_IF)
        self._ssid = ssid
        self._password = password
        self._since = None

    def connect(self):
        if self._wlan.isconnected():
            return
        now = ticks_ms()
        if self._since is None or ticks_diff(now, self._since) >= self.WIFI_RETRY_MS:
            self._since = now
            self._wlan.active(True)
            try:
                self._wlan.disconnect()
            except OSError:
                pass
            self._wlan.connect(self._ssid, self._password)

    def isconnected(self):
        return self._wlan.isconnected()


def oled(spec):
    """The board's display (boards whose file has one): an SSD1306 on an I2C bus, as firmware/display.py's canvas."""
    from machine import I2C, Pin

    from firmware.ssd1306 import Ssd1306

    i2c = I2C(spec.get("i2c", 0), sda=Pin(spec["sda"]), scl=Pin(spec["scl"]), freq=400000)
    return Ssd1306(i2c, spec.get("width", 128), spec.get("height", 64), spec.get("address", 0x3C))
