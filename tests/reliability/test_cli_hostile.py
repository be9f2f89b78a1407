"""Every `pintu` command with hypothesis-made option and argument values (huge, negative, empty, unicode, control
characters, far dates, unit-less durations): the exit code is 0, 2 or 3 and no traceback is ever printed (issue 15).

The commands are found by walking the click tree, so a new command is fuzzed without editing this file. Paths are
drawn from a few fixed choices inside the test's folder (this runs as root on CI: a fuzzed --out must not land in
/etc). Left out: `serve`, `demo`, `simulate` and `web`, which run until stopped or drive networks when their values are
valid; their option checks run through the same validate.py functions tested here.

Budget: about 15 s alone (60 examples per command, ~1,800 runs); PINTU_HYPOTHESIS=long gives 500 per command.
"""

import os

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pintu.cli import main

LONG = os.environ.get("PINTU_HYPOTHESIS") == "long"
SKIPPED = {("serve",), ("demo",), ("simulate",), ("web",)}
NIK = "3275010101800001"


def _commands(group, path=()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))
        elif path + (name,) not in SKIPPED:
            yield path + (name,), command


COMMANDS = list(_commands(main))

GENERAL = [
    "", " ", "-1", "0", "1", str(2**63), str(2**70), "-" + str(2**70), "1e309", "nan", "0x10", "pintu-host", "kantor",
    "lobby", "lobby-1", NIK, "PN1:AAAA", "HC1:6BF", "\x1b[2J", "a\x00b", "\u202egnp", "\U0001f980" * 30, "a" * 5000,
    "mqtt://", "mqtt://[::1", "host:99999", "0.0.0.0\nallow_anonymous true", "../../x", "--help", "-",
]
# Values aimed at one kind of input each (issue 15's list), by the parameter's name.
KINDS = {
    ("at_text", "since", "until", "day"): [
        "0001-01-01", "9999-12-31", "2099-01-01", "2019-12-31", "2021-02-30", "1970-01-01T00:00", "99999999999d",
        "2h", "2021-06-01T25:00", "2021-06-01T10:00+99:00", "20210601", "2021-06-01",
    ],
    ("max_stay", "retention", "older_than"): ["99999999999999w", "%dw" % 10**15, "30", "0d", "4m", "5m", "-1h",
                                               "1.5h", "8h", "30d", "1d", "12h"],
    ("capacity", "limit", "days", "number", "baud", "count", "n_units"): [
        str(2**63), str(2**70), "-1", "0", "1", "1000001", "3", "1e3", "999999999999",
    ],
    ("name", "referral", "operator", "vaccine", "wifi_ssid", "wifi_password", "nik", "code", "kid", "verdict"): [
        "\x1b[31mX", "X\x00", "A\nB", "\u202eX", "x" * 101, "x" * 70, "\u00c9lodie", "",
        "\u0414\u043c\u0438\u0442\u0440\u0438\u0439",
    ],
    ("site_id", "door_id", "device_id", "board", "bind", "broker", "run_as", "mqtt_user", "client_id"): [
        "pintu-host", "PINTU-HOST", "a b", "a/b", "+", "#", "x" * 33, "127.0.0.1", "::1", "localhost",
        "10.0.0.1:0", "10.0.0.1:65536", "[::1]:1883", "root", "nobody-here", "no-such-board", "esp32c3-gm861",
    ],
}
POOL = {name: values for names, values in KINDS.items() for name in names}


def _text(param):
    aimed = POOL.get(param.name, GENERAL)
    return st.one_of(st.sampled_from(aimed), st.sampled_from(aimed), st.sampled_from(GENERAL),
                     st.text(max_size=30), st.text(alphabet=st.characters(max_codepoint=0x3F), max_size=12))


def _value(param, tmp):
    """A strategy for one parameter's command-line text."""
    if isinstance(param.type, click.Path) or param.name in ("out_dir", "image", "port", "password_file"):
        return st.sampled_from([
            str(tmp / "missing.csv"), str(tmp / "folder"), str(tmp / "bad.csv"), str(tmp / "good.csv"),
            str(tmp / "out" / "card.png"), str(tmp / "card.svg"), str(tmp / "card.pdf"), str(tmp / "x.txt"),
            "/proc/pintu-x", "/nonexistent/tty", "", str(tmp / "\x1b[0m.png"),
        ])
    if isinstance(param.type, click.Choice):
        return st.one_of(st.sampled_from(list(param.type.choices)), _text(param))
    return _text(param)


@st.composite
def _invocation(draw, command, tmp):
    args = []
    for param in command.params:
        if isinstance(param, click.Option):
            if param.is_flag:
                if draw(st.booleans()):
                    args.append(param.opts[0])
                continue
            if param.required or draw(st.integers(0, 3)):
                args += [param.opts[0], draw(_value(param, tmp))]
        else:
            if param.required or draw(st.booleans()):
                args.append(draw(_value(param, tmp)))
    if "--yes" not in args and command.name == "purge":
        args.append("--yes")
    return args


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("office")
    runner = CliRunner()
    data = str(tmp / "d")

    def run(*args):
        result = runner.invoke(main, ["--data", data, *args])
        assert result.exit_code == 0, (args, result.output)

    run("init")
    run("site", "add", "kantor", "--name", "Kantor", "--capacity", "5", "--policy", "dose1", "--max-stay", "8h")
    run("door", "add", "lobby", "--site", "kantor", "--direction", "in")
    run("person", "add", "--nik", NIK, "--name", "Budi")
    run("person", "dose", NIK, "--date", "2021-06-01")
    run("device", "add", "lobby-1", "--door", "lobby")
    (tmp / "folder").mkdir()
    (tmp / "bad.csv").write_bytes(b'nik,name\n"unterminated,\xff\x00\n')
    (tmp / "good.csv").write_text("nik,name,role\n%s,Budi,staff\n" % NIK)
    (tmp / "x.txt").write_text("not a certificate\n")
    return tmp, data


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_hostile_values_exit_0_2_or_3_without_traceback(office, path, command, monkeypatch):
    tmp, data = office
    monkeypatch.chdir(tmp)  # a relative path drawn for --out (".", "x") writes here, never into the checkout
    runner = CliRunner()

    @settings(max_examples=500 if LONG else 60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(_invocation(command, tmp))
    def run(args):
        result = runner.invoke(main, ["--data", data, *path, *args], catch_exceptions=True)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        assert not crashed and result.exit_code in (0, 2, 3), (path, args, result.exit_code, result.output,
                                                                 repr(result.exception))
        assert "Traceback" not in result.output

    run()
