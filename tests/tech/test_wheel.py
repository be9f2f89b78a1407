"""The wheel as `pip install pintu`, `pipx install pintu` or a container image gets it: built from this checkout,
installed into a fresh venv outside it and run from a folder outside it (no checkout, no ../shared). `pintu demo` and
`pintu deploy --dry-run` must find the firmware, umqtt and board files the wheel carries under pintu/_unit/.

How the fresh venv gets the dependencies: offline and in seconds, not from an index. The venv is made without pip,
the wheel goes in with this interpreter's pip (`pip --python VENV/bin/python install --no-deps --no-index`), and one
.pth file puts this interpreter's site-packages folders on the venv's sys.path, after its own. A .pth line only adds
a folder: the .pth files inside it (such as the editable install's import hook for this checkout) are not run, so
`pintu` and `pintu_protocol` can come from the wheel only, which the first test checks."""

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from pintu.tech import manifest, unit_files
from tests.conftest import ROOT
from tests.mosquitto import free_port, wait_port

pytestmark = pytest.mark.slow

# What the build reads (pyproject.toml's package-dir); a folder added there and not here makes the build fail.
BUILD_INPUTS = ("pyproject.toml", "README.md", "host", "protocol", "firmware", "boards")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


class Installed:
    """A venv outside the checkout with the wheel installed; run() runs its `pintu` from a folder outside too."""

    def __init__(self, base):
        self.base = base
        self.venv = base / "venv"
        self.bin = self.venv / "bin"
        self.cwd = base / "elsewhere"
        self.cwd.mkdir()
        ours = str(Path(sys.executable).parent)
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != ours]
        self.env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PINTU_DATA")}
        self.env["PATH"] = os.pathsep.join([str(self.bin), *path])

    def run(self, *args, timeout=90):
        return subprocess.run([str(self.bin / "pintu"), *args], cwd=self.cwd, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def python(self, code):
        return subprocess.run([str(self.bin / "python"), "-c", code], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=60)


def _check(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert result.returncode == 0, "%s\n%s\n%s" % (" ".join(map(str, cmd)), result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT.resolve() not in base.resolve().parents, "the venv must sit outside the checkout"
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources, which stay out of the checkout.
    src = base / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=IGNORE)
        else:
            shutil.copy2(ROOT / name, src / name)
    # --no-build-isolation: the dev extra's setuptools builds it, with no index needed.
    _check([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
            str(base / "dist"), str(src)])
    (wheel,) = (base / "dist").glob("pintu-*.whl")
    shutil.rmtree(src)

    inst = Installed(base)
    _check([sys.executable, "-m", "venv", "--without-pip", str(inst.venv)])
    _check([sys.executable, "-m", "pip", "--python", str(inst.bin / "python"), "install", "--quiet", "--no-deps",
            "--no-index", str(wheel)])
    site = _check([str(inst.bin / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    deps = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
    (Path(site.stdout.strip()) / "_pintu_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    return inst


def test_the_wheel_alone_provides_pintu_and_no_top_level_firmware(installed):
    where = installed.python("import pintu, pintu_protocol; print(pintu.__file__); print(pintu_protocol.__file__)")
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(installed.venv.resolve()), line
    found = installed.python("from pintu.tech import unit_files; print(unit_files.locate().origin)")
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).resolve().is_relative_to(installed.venv.resolve())
    # The firmware is package data under pintu/_unit, not a `firmware` package for every program in the venv.
    firmware = installed.python("import firmware")
    assert firmware.returncode != 0 and "No module named 'firmware'" in firmware.stderr


def test_demo_runs_from_the_installed_wheel(installed):
    result = installed.run("demo", "--seconds", "5")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "summary of verdicts" in result.stdout


def test_deploy_dry_run_lists_the_files_the_wheel_carries(installed, virtual_board):
    data = str(installed.base / "data")
    for args in (("init",),
                 ("site", "add", "kantor", "--name", "Kantor", "--capacity", "3"),
                 ("door", "add", "lobby", "--site", "kantor", "--direction", "in"),
                 ("device", "add", "lobby-1", "--door", "lobby", "--board", "esp32-devkitc-gm65")):
        result = installed.run("--data", data, *args)
        assert result.returncode == 0, (args, result.stderr)
    dry = installed.run("--data", data, "deploy", "--port", virtual_board.url, "--device", "lobby-1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    listed = [line.split()[-1] for line in dry.stdout.splitlines() if line.startswith("would copy ")]
    # Exactly what a deploy from this checkout copies: board file, config, main.py, firmware, protocol and umqtt.
    cfg, path = manifest.device_config(data, "lobby-1")
    expected = [f.target for f in manifest.board_files(cfg, path.read_bytes(), compiled=True,
                                                       files=unit_files.locate())]
    assert listed == expected
    assert {"/board.json", "/pintu.json", "/main.py", "/lib/firmware/app.mpy", "/lib/umqtt/simple.mpy",
            "/lib/pintu_protocol/session.mpy"} <= set(listed)
    assert "%d to copy, 0 unchanged, 0 to remove" % len(expected) in dry.stdout


def test_the_console_serves_its_pages_and_assets_from_the_wheel(installed):
    """`pintu web` from the wheel: its templates and its script and style sheet are package data, not checkout files."""
    data = str(installed.base / "web-data")
    assert installed.run("--data", data, "init").returncode == 0
    assert "--bind" in installed.run("web", "--help").stdout
    port = free_port()
    server = subprocess.Popen([str(installed.bin / "pintu"), "--data", data, "web", "--bind", "127.0.0.1:%d" % port],
                              cwd=installed.cwd, env=installed.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, timeout=30)
        for path, needle in (("/login", 'name="csrf"'), ("/static/console.js", "EventSource"),
                             ("/static/console.css", ".occupancy")):
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as response:
                assert response.status == 200 and needle in response.read().decode(), path
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err
