"""`pintu user add|list|passwd|remove`: the web console's accounts (issue 19)."""

import getpass
import sys

import click

from pintu.cli.base import data_of, emit, json_option, main, pairs, table
from pintu.errors import PintuError
from pintu.registry import users
from pintu.registry.validate import MAX_PASSWORD


def _on_terminal():
    return sys.stdin.isatty()


def _read_password(from_stdin):
    """From the terminal, twice, never echoed; or the first line of stdin (--password-stdin, for scripts)."""
    if from_stdin:
        line = sys.stdin.readline(MAX_PASSWORD + 2)
        return line.rstrip("\r\n")
    if not _on_terminal():  # getpass would read it from stdin and echo it: say how instead
        raise PintuError("no terminal to ask the password on: give it on stdin with --password-stdin")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Password again: ")
    except EOFError:
        raise PintuError("no password given") from None
    if again != first:
        raise PintuError("the passwords differ")
    return first


password_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of "
                              "stdin (for scripts) instead of asking twice on the terminal.")


@main.group()
def user():
    """Accounts of the web console (`pintu web`)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(users.ROLES))
@click.option("--site", "sites", multiple=True, help="A site the account answers for (repeat; not for city-admin).")
@password_stdin
@json_option
@click.pass_context
def user_add(ctx, name, role, sites, password_stdin, as_json):
    """Add a console account; asks for its password (at least 10 characters)."""
    data = data_of(ctx)
    users.check_new_user(data, name, role, sites)  # a typo is told before the password is asked
    result = users.add_user(data, name, role, _read_password(password_stdin), sites)
    emit(as_json, result, lambda r: click.echo("user %s added (%s%s)" % (
        r["name"], r["role"], ": " + ", ".join(r["sites"]) if r["sites"] else "")))


USER_COLUMNS = (("name", "NAME"), ("role", "ROLE"), ("sites", "SITES"), ("created", "CREATED"),
                ("disabled", "DISABLED"))


@user.command("list")
@json_option
@click.pass_context
def user_list(ctx, as_json):
    """List console accounts."""
    rows = users.list_users(data_of(ctx))
    emit(as_json, rows, lambda rows: table([dict(r, sites=",".join(r["sites"])) for r in rows], USER_COLUMNS))


@user.command("passwd")
@click.argument("name")
@password_stdin
@click.pass_context
def user_passwd(ctx, name, password_stdin):
    """Set a new password for NAME; their open sessions end."""
    data = data_of(ctx)
    users.find_user(data, name)  # an unknown name is told before the password is asked
    users.set_password(data, name, _read_password(password_stdin))
    click.echo("password of %s changed" % name)


@user.command("remove")
@click.argument("name")
@json_option
@click.pass_context
def user_remove(ctx, name, as_json):
    """Remove NAME's account; their open sessions end."""
    emit(as_json, users.remove_user(data_of(ctx), name), pairs)
