"""Bytes on the wire for a typical SCAN (a 90-character code) and VERDICT: Pintu's binary frames next to the same
fields as a JSON MQTT message in the style of common ESP access-control firmware (esp-rfid and its kin).

Usage: python bench/wire_size.py. Prints a table; the last line is one JSON object of the figures."""

import json

import pintu_protocol as p
from pintu_protocol.counters import MemoryCounters
from pintu_protocol.verdicts import R_NO_DOSE, RED, reason_name, verdict_name

DEVICE = "lobby-east-1"
KEY = bytes(32)
CODE = b"PN1:" + b"K" * 86  # a 90-character code, the size of a Pintu card's signed token
REFERRAL = "Puskesmas Karang Kitri"


def binary_frames():
    unit = p.Session(DEVICE, KEY, p.UNIT, MemoryCounters(tx=41))
    host = p.Session(DEVICE, KEY, p.HOST, MemoryCounters(tx=41))
    scan = unit.send(p.Scan(1042, "lobby-in", p.IN, CODE))
    verdict = host.send(p.Verdict(1042, RED, R_NO_DOSE, 37, 50, REFERRAL))
    return scan, verdict


def json_messages(tag_hex):
    # The same fields, authenticated the same way (a counter and a truncated HMAC as hex), JSON-encoded.
    scan = {"cmd": "scan", "hostname": DEVICE, "door": "lobby-in", "dir": "in", "uid": CODE.decode(),
            "scan": 1042, "counter": 42, "mac": tag_hex}
    verdict = {"cmd": "verdict", "hostname": DEVICE, "scan": 1042, "access": verdict_name(RED),
               "reason": reason_name(R_NO_DOSE), "occupancy": 37, "capacity": 50, "referral": REFERRAL,
               "counter": 42, "mac": tag_hex}
    return [json.dumps(m, separators=(",", ":")).encode() for m in (scan, verdict)]


def main():
    scan, verdict = binary_frames()
    json_scan, json_verdict = json_messages(scan[-p.TAG_LEN :].hex())
    rows = [
        ("SCAN (90-char code)", len(scan), len(p.encode_stream(scan)), len(json_scan)),
        ("VERDICT (with referral)", len(verdict), len(p.encode_stream(verdict)), len(json_verdict)),
    ]
    print("%-26s %12s %14s %12s %8s" % ("message", "pintu MQTT", "pintu serial", "JSON MQTT", "saving"))
    for name, mqtt, serial, js in rows:
        print("%-26s %12d %14d %12d %7.0f%%" % (name, mqtt, serial, js, 100.0 * (js - mqtt) / js))
    print("pintu MQTT = one frame per payload; pintu serial adds COBS, CRC-16 and two delimiters.")
    figures = {
        "scan_bytes": len(scan),
        "verdict_bytes": len(verdict),
        "scan_serial_bytes": len(p.encode_stream(scan)),
        "verdict_serial_bytes": len(p.encode_stream(verdict)),
        "json_scan_bytes": len(json_scan),
        "json_verdict_bytes": len(json_verdict),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
