"""Shared fixtures: external programs (node, mosquitto) and the real MicroPython runner."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Hypothesis budget: a fixed, small one by default so CI stays fast; PINTU_HYPOTHESIS=long for deeper runs.
settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("PINTU_HYPOTHESIS", "ci"))

MICROPYTHON_RUNNER = ROOT / "tests" / "mpy" / "run.mjs"
MICROPYTHON_PACKAGE = ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


def require_program(name, install_hint):
    """Path of an external program; outside CI a missing one skips the test, in CI (CI=true) it fails it.
    /usr/sbin is searched too: Debian puts mosquitto there, outside a normal user's PATH."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path:
        return path
    message = "%s not found: %s" % (name, install_hint)
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


SHARED = ROOT.parent / "shared"  # reference data kept outside the product, beside the clone (CI lays it there)


def shared_data(relative):
    """A file or folder under ../shared (reference data, never part of the product). A bare clone has no ../shared:
    the test skips with a reason; in CI (CI=true), where ../shared sits beside the clone, a missing one fails it."""
    path = SHARED / relative
    if path.exists():
        return path
    message = "reference data missing: %s (a bare clone has none; CI lays ../shared beside it)" % path.resolve()
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


class MicroPython:
    """Runs code under the real MicroPython WebAssembly port (node + the npm package pinned in package.json).

    mounts maps host folders to folders in MicroPython's filesystem; `paths` go on sys.path."""

    def __init__(self, node):
        self.node = node

    def run(self, code, mounts=None, paths=("/lib",), timeout=120):
        mounts = dict(mounts or {})
        mounts.setdefault(str(ROOT / "protocol" / "pintu_protocol"), "/lib/pintu_protocol")
        cmd = [self.node, str(MICROPYTHON_RUNNER)]
        for src, dst in mounts.items():
            cmd += ["--mount", "%s:%s" % (src, dst)]
        for path in paths:
            cmd += ["--path", path]
        cmd += ["--exec", code]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def require_micropython():
    """node, with the MicroPython WebAssembly package installed; skips (fails under CI) otherwise. -> node's path."""
    node = require_program("node", "install Node.js 18+ (apt-get install nodejs), then run make test")
    if not MICROPYTHON_PACKAGE.exists():
        message = "MicroPython WebAssembly port missing: run 'npm ci' (make test does it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return node


@pytest.fixture(scope="session")
def micropython():
    return MicroPython(require_micropython())


def run_portable_suite(micropython, modules, mounts=None):
    """Run portable test modules (plain asserts) under MicroPython; returns (passed, failed, output)."""
    mounts = dict(mounts or {})
    mounts[str(ROOT / "tests" / "portable")] = "/t/tests/portable"
    code = (
        "open('/t/tests/__init__.py', 'w').close()\n"
        "import sys\nsys.path.insert(0, '/t')\n"
        "from tests.portable import run\n"
        "if run.run(%r):\n    raise SystemExit(1)\n" % (list(modules),)
    )
    result = micropython.run(code, mounts=mounts, paths=("/lib",))
    last = [line for line in result.stdout.splitlines() if line.endswith(" failed")]
    assert last, "no result line from MicroPython:\n%s\n%s" % (result.stdout, result.stderr)
    passed, failed = (int(part.split()[0]) for part in last[-1].split(", "))
    return passed, failed, result.stdout + result.stderr


# -- the database backends: tests that take `backend` (or `new_database`, `database`) run once on SQLite and once on
# PostgreSQL; @pytest.mark.sqlite_only keeps one to SQLite (it reads the SQLite file itself).

BACKENDS = ("sqlite", "postgresql")
# A PostgreSQL server where the tests may create and drop databases (trust auth or a password in the URL).
POSTGRES_ADMIN_URL = os.environ.get("PINTU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
_postgres_state = {}


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        metafunc.parametrize("backend", ["sqlite"] if only else list(BACKENDS))


def require_postgres():
    """The admin URL of a PostgreSQL server that answers; outside CI a missing server skips the test, in CI fails it."""
    if "error" not in _postgres_state:
        try:
            import psycopg

            with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            _postgres_state["error"] = None
        except Exception as exc:  # ImportError, refused, auth: all mean "no server for the tests"
            _postgres_state["error"] = "%s: %s" % (type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc)
                                                   else "")
    if _postgres_state["error"]:
        message = "no PostgreSQL at %s (%s): start one (.ci/run does) or set PINTU_TEST_POSTGRES" % (
            POSTGRES_ADMIN_URL, _postgres_state["error"])
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_ADMIN_URL


def postgres_url(name):
    """The URL of database `name` on the test server."""
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return "%s/%s" % (base, name)


def create_postgres_database():
    """A new, empty database on the test server. -> its URL."""
    import psycopg

    name = "pintu_test_%s" % uuid.uuid4().hex[:12]
    with psycopg.connect(require_postgres(), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "%s"' % name)
    return postgres_url(name)


def drop_postgres_database(url):
    import psycopg

    from pintu.data import pg_store

    pg_store.discard_pool(url)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % url.rpartition("/")[2])


@pytest.fixture
def new_database(backend):
    """-> make(): the `database` for one DataDir.init: None (SQLite in the data directory) or the URL of a new
    PostgreSQL database, dropped after the test."""
    made = []

    def make():
        if backend == "sqlite":
            return None
        made.append(create_postgres_database())
        return made[-1]

    yield make
    for url in made:
        drop_postgres_database(url)


@pytest.fixture
def database(new_database):
    return new_database()


def pytest_collection_modifyitems(config, items):
    """Hardware tests need a board: they run only with PINTU_PORT set (pytest -m hardware)."""
    if os.environ.get("PINTU_PORT"):
        return
    skip = pytest.mark.skip(reason="needs an ESP32 board: set PINTU_PORT=/dev/ttyUSB0 and run pytest -m hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)
