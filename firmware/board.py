"""Board definitions (boards/*.json, copied to the unit as board.json): loading and validation."""

import json

SCANNER_MODELS = ("gm65", "gm861", "m5-atomic-qr")
LED_KINDS = ("discrete", "neopixel")
# GPIO numbers each chip has, and those that are input only (never drive an LED, buzzer or relay from them).
CHIPS = {
    "esp32": (40, (34, 35, 36, 37, 38, 39)),
    "esp32c3": (22, ()),
    "esp32s3": (49, ()),
}


class BoardError(Exception):
    pass


def _pin(errors, used, where, value, chip, output):
    count, input_only = CHIPS[chip]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
        errors.append("%s: no GPIO %r on %s" % (where, value, chip))
        return
    if output and value in input_only:
        errors.append("%s: GPIO %d is input only" % (where, value))
    if value in used:
        errors.append("%s: GPIO %d already used by %s" % (where, value, used[value]))
    used[value] = where


def validate(board):
    """A list of problems (empty when the board definition is usable)."""
    errors = []
    if not isinstance(board, dict):
        return ["not a JSON object"]
    for key in ("name", "chip", "scanner", "leds"):
        if key not in board:
            errors.append("missing %s" % key)
    if errors:
        return errors
    chip = board["chip"]
    if chip not in CHIPS:
        return ["unknown chip %r" % (chip,)]
    used = {}
    scanner = board["scanner"]
    if scanner.get("model") not in SCANNER_MODELS:
        errors.append("scanner.model must be one of %s" % ", ".join(SCANNER_MODELS))
    if not isinstance(scanner.get("uart"), int) or not 1 <= scanner["uart"] <= 2:
        errors.append("scanner.uart must be 1 or 2 (UART0 is the console)")
    _pin(errors, used, "scanner.tx", scanner.get("tx"), chip, True)
    _pin(errors, used, "scanner.rx", scanner.get("rx"), chip, False)
    for key in ("baud", "factory_baud"):
        if scanner.get(key) not in (9600, 19200, 38400, 57600, 115200):
            errors.append("scanner.%s must be a standard rate up to 115200" % key)
    leds = board["leds"]
    kind = leds.get("kind")
    if kind == "discrete":
        for colour in ("green", "yellow", "red"):
            _pin(errors, used, "leds." + colour, leds.get(colour), chip, True)
    elif kind == "neopixel":
        _pin(errors, used, "leds.pin", leds.get("pin"), chip, True)
    else:
        errors.append("leds.kind must be one of %s" % ", ".join(LED_KINDS))
    if board.get("display") is not None:
        from firmware.display import check  # its names stay off the heap of boards without a display

        for where, value in check(board["display"], errors):
            _pin(errors, used, where, value, chip, True)
    for part in ("buzzer", "relay"):
        spec = board.get(part)
        if spec is not None:
            _pin(errors, used, part + ".pin", spec.get("pin"), chip, True)
    wdt = board.get("watchdog_ms", 8000)
    if not isinstance(wdt, int) or wdt < 1000:
        errors.append("watchdog_ms must be at least 1000 (the ESP32 minimum)")
    return errors


def load(files, name="board.json"):
    raw = files.read(name)
    if raw is None:
        raise BoardError("no %s" % name)
    try:
        board = json.loads(raw.decode())
    except (ValueError, UnicodeError):
        raise BoardError("%s is not JSON" % name) from None
    errors = validate(board)
    if errors:
        raise BoardError("%s: %s" % (name, "; ".join(errors)))
    return board
