"""The display of a display board (boards/esp32-devkitc-gm65-oled.json): each verdict in words on a fake framebuffer,
the referral on RED, the occupancy, OFFLINE, the idle screen, English by board option; the real SSD1306 driver on a
fake I2C bus where framebuf exists (MicroPython). Plain asserts: runs under pytest and real MicroPython."""

import pintu_protocol as p
from firmware import display
from firmware.fake_display import FakeI2C
from pintu_protocol import verdicts
from tests.portable.test_firmware_app import CODE, load_board, ready_bench

OLED = "esp32-devkitc-gm65-oled"


def _shown(bench, verdict, occupancy=12, capacity=40, referral=""):
    bench.scan(CODE + bytes((0x41 + verdict,)))
    bench.run(10)
    sent = [m for m in bench.host.read() if type(m) is p.Scan]
    bench.host.send(p.Verdict(sent[0].scan, verdict, 0, occupancy, capacity, referral))
    bench.run(20)
    screen = bench.hardware.canvas.screen
    bench.run(6000)  # the pattern ends: back to idle
    return screen


def test_each_verdict_is_shown_in_indonesian_with_the_occupancy():
    bench = ready_bench(board_name=OLED)
    canvas = bench.hardware.canvas
    assert canvas.screen == ("Silakan pindai", "kode QR")  # idle at boot
    assert _shown(bench, verdicts.GREEN) == ("Silakan masuk", "", "", "", "", "", "", "12/40")
    red = _shown(bench, verdicts.RED, 13, 40, "Puskesmas Karang Kitri")
    assert " ".join(line for line in red[:-1] if line) == "Belum vaksin - ke Puskesmas Karang Kitri"
    assert red[-1] == "13/40"
    assert _shown(bench, verdicts.FULL, 40, 40)[:2] == ("Penuh, mohon", "tunggu")
    assert _shown(bench, verdicts.YELLOW)[:2] == ("Mohon tunggu", "petugas")
    assert _shown(bench, verdicts.HOLD)[:2] == ("Mohon tunggu", "petugas")  # the guard's confirmation is pending
    assert _shown(bench, verdicts.GUARD_IDLE)[:2] == ("Tidak ada yang", "menunggu")
    assert _shown(bench, verdicts.BLACK)[:3] == ("Dilarang masuk -", "hubungi petugas", "")
    assert _shown(bench, verdicts.INVALID)[0] == "Kode tidak sah"
    assert _shown(bench, verdicts.EXIT, 11, 40) == ("Sampai jumpa", "", "", "", "", "", "", "11/40")
    assert _shown(bench, 42, 11, 40)[:2] == ("Ditolak -", "hubungi petugas")  # an unknown verdict reads as a refusal
    assert canvas.screen == ("Silakan pindai", "kode QR", "", "", "", "", "", "11/40")  # idle, last occupancy
    for line in canvas.screen:
        assert len(line) <= 16  # 128 pixels of an 8-pixel font


def test_red_without_a_referral_and_offline():
    bench = ready_bench(board_name=OLED)
    assert _shown(bench, verdicts.RED, 0, 0)[0] == "Belum vaksin"
    bench.scan(b"PINTU1:nobody-answers")
    bench.run(3100)  # no VERDICT within the timeout
    assert bench.hardware.canvas.screen[:2] == ("Tidak terhubung", "- hubungi")
    assert bench.app.last_verdict.verdict == verdicts.RED  # OFFLINE is the unit's own


def test_english_by_board_option():
    board = load_board(OLED)
    board["display"]["lang"] = "en"
    from firmware.testbench import Bench, bench_config

    bench = Bench(board, bench_config(board=board["name"]))
    bench.run(20)
    bench.host.read()
    bench.host.configure(bench.app.settings)
    bench.run(10)
    bench.host.read()
    assert bench.hardware.canvas.screen == ("Please scan your", "QR code")
    red = _shown(bench, verdicts.RED, 5, 50, "Puskesmas Karang Kitri")
    assert " ".join(line for line in red[:-1] if line) == "Not vaccinated - go to Puskesmas Karang Kitri"
    assert _shown(bench, verdicts.GREEN)[0] == "Please come in"


def test_boards_without_a_display_are_unchanged():
    bench = ready_bench()
    assert bench.app.display is None and bench.hardware.canvas is None
    _shown_plain = bench.recorder.values(("display",))
    assert _shown_plain == []


def test_wrap_breaks_between_words_and_cuts_long_ones():
    assert display.wrap("Belum vaksin - ke Puskesmas Karang Kitri", 16) == [
        "Belum vaksin -", "ke Puskesmas", "Karang Kitri"]
    assert display.wrap("x" * 20 + " y", 16) == ["x" * 16, "xxxx y"]
    assert display.wrap("", 16) == []


def test_the_ssd1306_driver_sets_up_the_panel_and_sends_the_framebuffer():
    try:
        import framebuf  # noqa: F401
    except ImportError:
        return  # CPython has no framebuf: this runs under MicroPython (tests/firmware/test_micropython_firmware.py)
    from firmware.ssd1306 import Ssd1306, init_commands

    bus = FakeI2C()
    oled = Ssd1306(bus, 128, 64, 0x3C)
    commands = bytes(data[1] for (address, data) in bus.writes if data[0] == 0x80)
    assert commands.startswith(init_commands(64)) and init_commands(64)[-1] == 0xAF
    assert b"\x8d\x14" in init_commands(64)  # the charge pump, or the panel stays dark
    bus.writes = []
    oled.text("Silakan masuk", 0, 0, 1)
    oled.show()
    data = [d for (a, d) in bus.writes if d[0] == 0x40]
    assert len(data) == 1 and len(data[0]) == 1 + 1024 and data[0][1:] == bytes(oled.buffer)
    assert any(data[0][1:129]) and not any(data[0][129:])  # the first page (8 rows) holds the text, nothing else
    assert all(a == 0x3C for (a, d) in bus.writes)
