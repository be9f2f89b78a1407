"""Scanner drivers: command frames byte for byte against the vendor frames in shared/HARDWARE.md, the boot-time
configuration against an emulated module, and the code reader's handling of noise, half and over-long codes."""

from firmware import scanner, scanner_m5, scanner_setup
from firmware.hw_fake import FakeClock, FakeGm65, FakeUart


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


def test_command_frames_match_the_vendor_frames():
    assert scanner_setup.save_command() == h("7E 00 09 01 00 00 00 DE C8")
    assert scanner_setup.baud_command(115200) == h("7E 00 08 02 00 2A 1A 00 E4 7E")
    assert scanner.heartbeat_command() == h("7E 00 0A 01 00 00 00 30 1A")
    # The trigger frame is published with AB CD (CRC skipped); with its real CRC the rest is identical.
    trigger = scanner_setup.write_command(0x0002, b"\x01")
    assert trigger[:7] == h("7E 00 08 01 00 02 01")
    assert scanner_setup.baud_command(9600) == h("7E 00 08 02 00 2A 39 01 A7 EA")
    assert scanner_setup.read_command(0x002A, 2) == h("7E 00 07 01 00 2A 02 D8 0F")


def test_replies_are_recognised_and_skipped():
    assert scanner.reply_length(h("02 00 00 01 00 33 31")) == 7
    assert scanner.reply_length(h("03 00 00 01 00 33 31")) == 7
    assert scanner.reply_length(h("02 00 00")) == -1
    assert scanner.reply_length(b"PINTU") == 0
    reader = scanner.CodeReader(100)
    reader.feed(h("02 00 00 01 00 33 31") + b"CODE-1234\r" + h("03 00 00 01 00 33 31") + b"CODE-5678\r\n", 0)
    assert reader.codes == [b"CODE-1234", b"CODE-5678"] and reader.noise == 0


def test_m5_start_decode_frame_matches_the_vendor_frame():
    assert scanner_m5.ssi_command(0xE4) == h("04 E4 04 00 FF 14")


def configured(module, uart_baud=9600, **kw):
    clock = FakeClock()
    uart = FakeUart(uart_baud, module)
    driver = scanner.Gm65(uart, clock, 1200, **kw)
    return driver, uart, driver.configure()


def test_factory_module_is_configured_switched_to_115200_and_saved():
    module = FakeGm65(baud=9600)
    driver, uart, ok = configured(module)
    assert ok and driver.configured
    assert module.baud == 115200 and uart.baud == 115200 and module.saved
    assert module.zones[0] & 0x03 == 0x02  # continuous mode
    assert module.zones[0x0D] & 0x03 == 0x00  # serial output
    assert h("7E 00 08 02 00 2A 1A 00 E4 7E") in uart.written
    assert uart.written[-1] == h("7E 00 09 01 00 00 00 DE C8")  # saved last, at the new rate
    assert h("7E 00 07 01 00 00 01") == uart.written[0][:7]  # first a read of zone 0x0000, at the target rate


def test_module_already_at_115200_keeps_its_rate_and_sense_mode_is_set():
    module = FakeGm65(baud=115200)
    module.zones[0] = 0xC0  # other bits in the zone must survive the read-modify-write
    _driver, uart, ok = configured(module, mode="sense")
    assert ok and uart.baud == 115200
    assert module.zones[0] == 0xC3
    assert h("7E 00 08 02 00 2A 1A 00 E4 7E") not in uart.written


def test_a_module_already_configured_is_only_read_and_its_flash_left_alone():
    module = FakeGm65(baud=115200)
    module.zones[0] = 0x02  # continuous, serial output, CR: as the first boot left it
    _driver, uart, ok = configured(module)
    assert ok and not module.saved
    assert [frame[2] for frame in uart.written] == [0x07, 0x07, 0x07, 0x07]  # reads only


def test_silent_module_falls_back_to_reading_at_its_factory_rate():
    module = FakeGm65(baud=9600, answer=False)
    driver, uart, ok = configured(module)
    assert not ok and uart.baud == 9600
    uart.feed(b"PINTU1:still-read\r")
    assert driver.poll() == b"PINTU1:still-read"


def test_gm861_heartbeat_every_ten_seconds_and_its_reply_is_not_a_code():
    clock = FakeClock()
    module = FakeGm65(baud=115200)
    uart = FakeUart(115200, module)
    driver = scanner.Gm65(uart, clock, 1200, heartbeat=True)
    driver.configure()
    before = len(uart.written)
    clock.advance(10000)
    driver.tick()
    assert uart.written[before:] == [h("7E 00 0A 01 00 00 00 30 1A")] and module.heartbeats == 1
    uart.feed(b"PINTU1:after-beat\r")
    assert driver.poll() == b"PINTU1:after-beat"
    assert driver.reader.noise == 0


def test_reader_splits_codes_across_reads_and_terminators():
    reader = scanner.CodeReader(64)
    for chunk in (b"PIN", b"TU1:a", b"bc\r\nPINTU1:d", b"ef\n", b"\tPINTU1:ghi\r"):
        reader.feed(chunk, 0)
    assert reader.codes == [b"PINTU1:abc", b"PINTU1:def", b"PINTU1:ghi"]


def test_reader_drops_noise_half_and_long_codes_and_counts_them():
    reader = scanner.CodeReader(16)
    reader.feed(b"\x00\x01\x02junk\r", 0)
    reader.feed(b"x\r", 0)
    reader.feed(b"PINTU1:half", 10)
    reader.feed(b"PINTU1:next\r", 1000)  # the half code's bytes stopped 990 ms ago
    reader.feed(b"L" * 17 + b"\r", 1000)
    reader.feed(b"M" * 40, 1000)
    reader.feed(b"M" * 40 + b"\rPINTU1:ok\r", 1001)
    assert reader.codes == [b"PINTU1:next", b"PINTU1:ok"]
    assert (reader.noise, reader.partial, reader.too_long) == (2, 1, 2)
    assert len(reader._buf) == 0


def test_reader_holds_bounded_memory_on_an_endless_line():
    reader = scanner.CodeReader(64)
    for i in range(200):
        reader.feed(b"Z" * 100, i)
        assert len(reader._buf) <= 72
    reader.feed(b"\rPINTU1:fine\r", 200)
    assert reader.codes == [b"PINTU1:fine"] and reader.too_long == 1


def test_m5_driver_host_trigger_rearms_after_each_code():
    clock = FakeClock()
    uart = FakeUart(9600)
    driver = scanner_m5.AtomicQr(uart, clock, 1200, trigger="host")
    assert driver.configure()
    assert uart.written == [h("04 E4 04 00 FF 14")]
    uart.feed(h("04 D0 00 00 FF 2C"))  # the base's SSI ACK, then a code with no break between
    uart.feed(b"PINTU1:m5-code\r\n")
    assert driver.poll() == b"PINTU1:m5-code"
    assert len(uart.written) == 2
    clock.advance(3000)
    driver.tick()
    assert len(uart.written) == 3
