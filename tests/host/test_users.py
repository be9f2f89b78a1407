"""The console's accounts (issue 19): `pintu user add|list|passwd|remove`, their checks, and the library beneath."""

import json

import pytest
from click.testing import CliRunner

from pintu import registry
from pintu.cli import main
from pintu.errors import PintuError
from pintu.registry import users

PASSWORD = "kunci-pintu-2021"


@pytest.fixture
def ready(tmp_path, database):
    """`pintu --data DIR ...` on a data directory with site kantor (on each backend)."""
    runner = CliRunner(env={"PINTU_DATABASE": database} if database else None)

    def run(*args, expect=0, input=None):
        result = runner.invoke(main, ["--data", str(tmp_path / "d"), *args], input=input)
        assert result.exit_code == expect, (args, result.exit_code, result.output, result.exception)
        if expect == 2:
            assert result.stderr.startswith("pintu: ") and "Traceback" not in result.output
        return result

    run("init")
    run("site", "add", "kantor", "--name", "Kantor", "--capacity", "3", "--policy", "dose1", "--max-stay", "8h")
    return run


def test_user_add_list_passwd_remove(ready):
    out = ready("user", "add", "satpam", "--role", "guard", "--site", "kantor", "--password-stdin",
                input=PASSWORD + "\n").stdout
    assert "user satpam added (guard: kantor)" in out
    ready("user", "add", "kota", "--role", "city-admin", "--password-stdin", input=PASSWORD + "\n")
    listed = json.loads(ready("user", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["sites"]) for u in listed] == [("kota", "city-admin", []),
                                                                     ("satpam", "guard", ["kantor"])]
    assert PASSWORD not in ready("user", "list").stdout
    ready("user", "passwd", "satpam", "--password-stdin", input="another-password\n")
    ready("user", "remove", "kota")
    assert [u["name"] for u in json.loads(ready("user", "list", "--json").stdout)] == ["satpam"]


@pytest.mark.parametrize("args, message", [
    (("user", "add", "kota", "--role", "city-admin", "--site", "kantor"), "give no --site"),
    (("user", "add", "satpam", "--role", "guard"), "needs at least one --site"),
    (("user", "add", "satpam", "--role", "office-admin", "--site", "nowhere"), "unknown site"),
    (("user", "add", "sat pam", "--role", "guard", "--site", "kantor"), "bad user name"),
    (("user", "add", "satpam\x1b[31m", "--role", "guard", "--site", "kantor"), "control character"),
    (("user", "passwd", "nobody", "--password-stdin"), "unknown user"),
    (("user", "remove", "nobody"), "unknown user"),
])
def test_bad_user_input_is_one_line_and_writes_nothing(ready, args, message):
    if args[1] == "add":
        args += ("--password-stdin",)
    assert message in ready(*args, expect=2, input=PASSWORD + "\n").stderr
    assert json.loads(ready("user", "list", "--json").stdout) == []


def test_short_password_and_a_name_taken_twice_are_refused(ready):
    assert "at least 10" in ready("user", "add", "satpam", "--role", "guard", "--site", "kantor",
                                  "--password-stdin", expect=2, input="short\n").stderr
    ready("user", "add", "satpam", "--role", "guard", "--site", "kantor", "--password-stdin", input=PASSWORD + "\n")
    assert "already exists" in ready("user", "add", "satpam", "--role", "guard", "--site", "kantor",
                                     "--password-stdin", expect=2, input=PASSWORD + "\n").stderr


def test_passwords_differ_on_the_terminal(ready, monkeypatch):
    answers = iter(["first-password-1", "second-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("pintu.cli.users._on_terminal", lambda: True)
    assert "differ" in ready("user", "add", "satpam", "--role", "guard", "--site", "kantor", expect=2).stderr


def test_without_a_terminal_the_password_is_asked_for_on_stdin(ready):
    result = ready("user", "add", "satpam", "--role", "guard", "--site", "kantor", expect=2)
    assert "--password-stdin" in result.stderr and "Password" not in result.output
    # A typo is told first, before any password is asked for.
    assert "unknown site" in ready("user", "add", "satpam", "--role", "guard", "--site", "nowhere", expect=2).stderr


def test_authenticate_stores_only_a_hash_and_ends_old_sessions(data):
    registry.add_site(data, "kantor", "Kantor", 10, "dose1", "", "8h")
    registry.add_site(data, "pasar", "Pasar", 10, "dose1", "", "8h")
    users.add_user(data, "satpam", users.GUARD, PASSWORD, ["kantor"])
    assert PASSWORD not in data.store.dump()
    row = users.authenticate(data, "satpam", PASSWORD)
    assert row is not None and row["name"] == "satpam"
    assert users.authenticate(data, "satpam", PASSWORD + "x") is None
    assert users.authenticate(data, "nobody", PASSWORD) is None
    assert users.authenticate(data, "satpam", "x" * 10_000) is None
    assert users.visible_sites(data, row) == ["kantor"]
    assert users.may_see(data, row, "kantor") and not users.may_see(data, row, "pasar")
    with pytest.raises(PintuError, match="current password is wrong"):
        users.set_password(data, "satpam", "new-password-1", old_password="wrong-password")
    users.set_password(data, "satpam", "new-password-1", old_password=PASSWORD)
    assert data.store.find_user("satpam")["sessions"] == row["sessions"] + 1  # older sessions end
    assert users.authenticate(data, "satpam", "new-password-1") is not None
