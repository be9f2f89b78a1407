"""Follow the README's "Operator CLI" walk-through line by line with the real `pintu`, as a new user would."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def section():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Operator CLI")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def block(text, lang):
    match = re.search(r"```%s\n(.*?)```" % lang, text, re.S)
    assert match, "no ```%s block in the README's Operator CLI section" % lang
    return match.group(1)


@pytest.fixture
def shell(tmp_path):
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": "%s%s%s" % (bin_dir, os.pathsep, os.environ.get("PATH", ""))}
    env.pop("PINTU_DATA", None)

    def run(line):
        return subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True)

    return run


def test_readme_walkthrough(tmp_path, shell):
    if not (Path(sys.executable).parent / "pintu").exists():
        pytest.skip("the pintu console script is not installed next to this Python")
    text = section()
    (tmp_path / "persons.csv").write_text(block(text, "csv"))
    verdicts = []
    for line in block(text, "sh").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        result = shell(line)
        assert "Traceback" not in result.stderr, (line, result.stderr)
        words = line.split()
        if words[1] in ("check", "admit"):
            assert result.returncode in (0, 3), (line, result.stderr)
            verdicts.append(result.stdout.split()[0])
            assert (result.returncode == 0) == (verdicts[-1] in ("GREEN", "YELLOW", "EXIT")), line
        else:
            assert result.returncode == 0, (line, result.stderr)
        if words[1] == "trace":
            assert "Sari Wulandari" in result.stdout and "Fajar Nugroho" in result.stdout
            assert "Eko" not in result.stdout and "Dewi" not in result.stdout
        if words[1] == "occupancy":
            assert re.search(r"kantor\s+2\s+3\s+1\s+1\s+1", result.stdout), result.stdout
    assert verdicts == ["GREEN", "YELLOW", "RED", "BLACK", "GREEN", "FULL", "INVALID", "EXIT"]
    for card in ("budi.png", "sari.png", "andi.svg", "dewi.png", "eko.png"):
        assert (tmp_path / card).stat().st_size > 200
    assert (tmp_path / "pintu-data" / "pintu.db").exists()
    # the README's JSON claims hold too
    occupancy = json.loads(shell("pintu occupancy --json").stdout)
    assert occupancy[0]["site"] == "kantor" and occupancy[0]["inside"] == 2
    red = shell('pintu check --door lobby --json --dry-run "$(cat andi.txt)"')
    assert json.loads(red.stdout)["referral"] == "Puskesmas Karang Kitri" and red.returncode == 3
