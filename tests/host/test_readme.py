"""Follow the README as a newcomer would, in a fresh shell: the Quick start's commands after `make` (activating the
venv), then the "Operator CLI" walk-through line by line with the real `pintu`, and every bench command as written.
The shell starts without this interpreter's folder on PATH, so a README that forgets how `pintu` or the benches'
Python get there fails here with "command not found" or ModuleNotFoundError, as it would for a newcomer."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title):
    start = README.index("## " + title)
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def block(text, lang):
    match = re.search(r"```%s\n(.*?)```" % lang, text, re.S)
    assert match, "no ```%s block in the README section" % lang
    return match.group(1)


def commands(text):
    """The command lines of a block: no blank lines, no comment lines, no trailing comments."""
    lines = []
    for line in text.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def fresh_env():
    """The environment of a new login shell: no venv active, nothing of this test run's interpreter on PATH."""
    drop = {str(Path(sys.executable).parent), str(ROOT / ".venv" / "bin")}
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in drop]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PINTU_DATA")}
    env["PATH"] = os.pathsep.join(path or ["/usr/local/bin", "/usr/bin", "/bin"])
    return env


def bash(line, cwd, env):
    result = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 127 and "command not found" not in result.stderr, (line, result.stderr)
    assert "Traceback" not in result.stderr, (line, result.stderr)
    return result


@pytest.fixture(scope="module")
def quick_start_env():
    """The shell after the Quick start: its commands but `make ...` (make test is what runs this test; make demo
    runs in tests/tech), run in the clone in one bash, whose environment the walk-through's lines then inherit."""
    if not (ROOT / ".venv" / "bin" / "activate").exists():
        message = "no .venv in the clone: the Quick start's make demo / make test creates it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    lines = [line for line in commands(block(section("Quick start"), "sh")) if not line.startswith("make ")]
    assert lines, "the Quick start says nothing after make"
    script = "set -e\n%s\nenv -0" % "\n".join(lines)
    result = bash(script, ROOT, fresh_env())
    assert result.returncode == 0, result.stderr
    env = dict(item.split("=", 1) for item in result.stdout.split("\0") if "=" in item)
    for name in ("SHLVL", "_", "PWD", "OLDPWD"):
        env.pop(name, None)
    return env


def test_quick_start_puts_pintu_on_path(quick_start_env):
    where = bash("command -v pintu", ROOT, quick_start_env)
    assert where.returncode == 0
    assert Path(where.stdout.strip()).resolve().is_relative_to(ROOT.resolve() / ".venv")


def test_readme_walkthrough(tmp_path, quick_start_env):
    text = section("Operator CLI")
    (tmp_path / "persons.csv").write_text(block(text, "csv"))

    def shell(line):
        return bash(line, tmp_path, quick_start_env)

    verdicts = []
    for line in commands(block(text, "sh")):
        result = shell(line)
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
    assert verdicts == ["GREEN", "HOLD", "GREEN", "RED", "BLACK", "GREEN", "FULL", "INVALID", "EXIT"]
    for card in ("budi.png", "sari.png", "andi.svg", "dewi.png", "eko.png", "joko.png"):
        assert (tmp_path / card).stat().st_size > 200
    assert (tmp_path / "pintu-data" / "pintu.db").exists()
    # the README's JSON claims hold too
    occupancy = json.loads(shell("pintu occupancy --json").stdout)
    assert occupancy[0]["site"] == "kantor" and occupancy[0]["inside"] == 2
    red = shell('pintu check --door lobby --json --dry-run "$(cat andi.txt)"')
    assert json.loads(red.stdout)["referral"] == "Puskesmas Karang Kitri" and red.returncode == 3


def bench_commands():
    """Every bench command the README shows (`PYTHON bench/X.py ...`), up to the script's name."""
    found = re.findall(r"(?m)(?:^|`)([^`\n|]*?\bpython\S* bench/\w+\.py)", README)
    return sorted(set(cmd.strip() for cmd in found))


def test_bench_commands_run_as_written_in_a_fresh_shell():
    # No venv activated: the README writes the venv's python out (.venv/bin/python), so each runs from the clone as is.
    cmds = bench_commands()
    assert any("wire_size.py" in cmd for cmd in cmds) and any("faults.py" in cmd for cmd in cmds), cmds
    for cmd in cmds:
        # --help: every bench but wire_size parses its options first (after its imports); wire_size runs in a second.
        result = bash(cmd + " --help", ROOT, fresh_env())
        assert result.returncode == 0, (cmd, result.stderr)
        assert "ModuleNotFoundError" not in result.stderr, (cmd, result.stderr)


def test_readme_console_commands(tmp_path, quick_start_env):
    """The Console section's commands, as written, in a folder where the walk-through made site kantor; `pintu web`
    on a free port instead of 8080 (another program may hold it), asked for its login page."""
    import urllib.request

    from tests.mosquitto import free_port, wait_port

    def shell(line):
        return bash(line, tmp_path, quick_start_env)

    walkthrough = commands(block(section("Operator CLI"), "sh"))
    for line in walkthrough[:2]:  # pintu init; pintu site add kantor ...
        assert line.startswith(("pintu init", "pintu site add kantor")) and shell(line).returncode == 0
    lines = commands(block(section("Console"), "sh"))
    assert lines[-1].startswith("pintu web --bind 127.0.0.1:8080")
    for line in lines[:-1]:
        result = shell(line)
        assert result.returncode == 0, (line, result.stderr)
    listed = shell("pintu user list --json")
    assert sorted(u["name"] for u in json.loads(listed.stdout)) == ["kepala", "kota", "satpam"]
    port = free_port()
    server = subprocess.Popen(["bash", "-c", "exec " + lines[-1].replace(":8080", ":%d" % port)], cwd=tmp_path,
                              env=quick_start_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, timeout=30)
        with urllib.request.urlopen("http://127.0.0.1:%d/login" % port, timeout=10) as response:
            assert response.status == 200 and "Masuk" in response.read().decode()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err and "warning" not in err  # loopback: no warning
