"""Wiring one door unit from its files (board.json, pintu.json) and a hardware factory (hw.Esp32Hardware on a board,
hw_fake.FakeHardware in tests, the host's simulator hardware in `pintu simulate`)."""

import hashlib

from firmware import board as board_mod
from firmware import config as config_mod
from firmware.app import App
from firmware.counter import CounterError, CounterStore
from firmware.feedback import Feedback
from firmware.queue import OfflineQueue

CONFIG_FILE = "pintu.json"
BOARD_FILE = "board.json"
MQTT_WATCHDOG_MS = 30000


class Fault:
    """What a unit with a missing or wrong config does: play the config_error pattern, forever, and nothing else."""

    needs_watchdog = False

    def __init__(self, feedback, reason):
        self.feedback = feedback
        self.reason = reason
        self.errors = 0
        self.last_error = reason[:32]

    def step(self):
        if not self.feedback.busy:
            self.feedback.play("config_error")
        self.feedback.tick()

    def record_error(self, error):
        self.errors += 1

    def close(self):
        self.feedback.stop()


def make_feedback(board, hardware, clock):
    buzzer = hardware.buzzer(board["buzzer"]) if board.get("buzzer") else None
    relay = hardware.relay(board["relay"]) if board.get("relay") else None
    return Feedback(clock, hardware.leds(board["leds"]), buzzer, relay)


def make_scanner(board, hardware, clock, max_code):
    spec = board["scanner"]
    model = spec["model"]
    if model == "m5-atomic-qr":
        from firmware.scanner_m5 import AtomicQr

        return AtomicQr(hardware.uart(spec, spec["baud"]), clock, max_code, spec["baud"], spec.get("trigger", "auto"))
    from firmware.scanner import Gm65

    return Gm65(hardware.uart(spec, spec["factory_baud"]), clock, max_code, spec["baud"], spec["factory_baud"],
                spec.get("mode", "continuous"), heartbeat=model == "gm861")


def make_link(settings, hardware, clock):
    link = settings["link"]
    if link["kind"] == "serial":
        from firmware.link_serial import SerialLink

        return SerialLink(hardware.serial_stream(), clock, escape=link.get("repl_escape", True))
    from firmware.link_mqtt import MqttLink, ca_der

    host = link["broker"]
    # The CA's DER: present, this unit speaks TLS only (config.validate refused a "tls" entry that is not a CA).
    ca = ca_der(link["tls"]) if "tls" in link else None
    port = link.get("port", 8883 if ca else 1883)
    keepalive = link.get("keepalive", 60)
    made = []

    def client():
        args = (settings["device_id"], host, port, link.get("user"), link.get("password"), keepalive)
        if ca is None:
            return hardware.mqtt_client(*args)
        if not made:  # one context for the unit's life; a failure here is a failed connect, never plain MQTT
            from firmware.link_mqtt import tls_context

            made.append(tls_context(ca))
        return hardware.mqtt_client(*args, ssl=made[0])

    wifi = hardware.wifi(link["wifi_ssid"], link.get("wifi_password", ""))
    return MqttLink(client, clock, settings["site"], settings["device_id"], keepalive, wifi)


def build(files, clock, hardware):
    """The App, or a Fault when the config is missing or wrong. A broken board.json raises BoardError: without it
    there are no LEDs to show anything on."""
    board = board_mod.load(files, BOARD_FILE)
    feedback = make_feedback(board, hardware, clock)
    raw = files.read(CONFIG_FILE)
    try:
        settings = config_mod.parse(raw)
        if settings["board"] != board["name"]:
            raise config_mod.ConfigError("config is for board %s, this is %s" % (settings["board"], board["name"]))
        counters = CounterStore(files)
        counters.load()  # fails now, visibly, rather than at the first frame
        link = make_link(settings, hardware, clock)
    except (config_mod.ConfigError, CounterError) as e:
        return Fault(feedback, str(e))
    scanner = make_scanner(board, hardware, clock, settings["max_code"])
    scanner.configure()
    queue = OfflineQueue(files, settings["queue_max"])
    app = App(settings, scanner, feedback, link, clock, queue, counters, board["name"],
              hashlib.sha256(raw).digest(), hardware.mem_free)
    if board.get("display"):
        from firmware.display import attach  # only display boards hold its code and its words

        attach(app, board["display"], hardware)
    app.needs_watchdog = True
    app.watchdog_ms = board.get("watchdog_ms", 8000)
    if settings["link"]["kind"] == "mqtt":
        # umqtt.simple blocks in connect() and in a QoS-1 publish (until PUBACK) with no timeout of its own; lwIP
        # gives up a TCP connect after ~20 s. A broker that hangs longer than this resets the unit, which recovers.
        app.watchdog_ms = max(app.watchdog_ms, MQTT_WATCHDOG_MS)
    return app
