"""The `pintu` command group and what every command shares: the data directory, output helpers, and the one place
where errors become a one-line message and an exit code.

Exit codes: 0 done (for check/admit: admitted), 2 bad input (unknown site, malformed NIK, bad date...),
3 refused (check/admit), 1 storage failure.
"""

import json
import sqlite3
import sys

import click

from pintu.data.datadir import DEFAULT_DATA, DataDir
from pintu.errors import PintuError

EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_STORAGE = 1
MAX_BAD_ROWS_SHOWN = 20
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class PintuGroup(click.Group):
    """The one place where errors turn into a one-line message on stderr and an exit code: library errors
    (PintuError), storage errors, and click's own usage errors (which would otherwise print three lines)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name or "pintu", complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:  # `pintu` or `pintu site` alone: show the help, as click would
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.UsageError as exc:
            hint = " (see %s --help)" % exc.ctx.command_path if exc.ctx is not None else ""
            click.echo("pintu: %s%s" % (exc.format_message(), hint), err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as exc:
            click.echo("pintu: %s" % exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("pintu: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PintuError as exc:
            click.echo("pintu: %s" % exc, err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except sqlite3.Error as exc:
            click.echo("pintu: storage error: %s" % exc, err=True)
            ctx.exit(EXIT_STORAGE)
        except OSError as exc:
            # A path the operator gave that cannot be used (`--data /proc/x`, a read-only folder): one line, exit 2.
            where = " (%s)" % exc.filename if exc.filename else ""
            click.echo("pintu: %s%s" % (exc.strerror or exc, where), err=True)
            ctx.exit(EXIT_BAD_INPUT)


class DefaultGroup(click.Group):
    """A group that runs `default` when the first word is not one of its commands: `pintu card NIK ...`
    issues a card, `pintu card revoke NIK` revokes."""

    default = None

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


def data_of(ctx):
    root = ctx.find_root()
    data = root.meta.get("pintu.data")
    if data is None:
        data = DataDir(root.obj)
        root.meta["pintu.data"] = data
        root.call_on_close(data.close)
    return data


def emit(as_json, obj, human):
    if as_json:
        click.echo(json.dumps(obj, ensure_ascii=False))
    else:
        human(obj)


def table(rows, columns):
    """rows: dicts; columns: (key, heading). Prints an aligned table, or '(none)'."""
    if not rows:
        click.echo("(none)")
        return
    cells = [[heading for _, heading in columns]]
    for row in rows:
        cells.append(["" if row.get(key) is None else str(row.get(key)) for key, _ in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def pairs(obj, keys=None):
    for key in keys or obj:
        value = obj[key]
        click.echo("%-14s %s" % (key + ":", "" if value is None else value))


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group(cls=PintuGroup)
@click.option(
    "--data",
    "data_dir",
    envvar="PINTU_DATA",
    default=DEFAULT_DATA,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Data directory (env PINTU_DATA).",
)
@click.version_option(package_name="pintu")
@click.pass_context
def main(ctx, data_dir):
    """Pintu host: vaccination registry, site policy, occupancy and door check-in."""
    ctx.obj = data_dir


@main.command()
@click.option("--database", metavar="URL", envvar="PINTU_DATABASE",
              help="Keep the records in PostgreSQL (postgresql://USER@HOST:PORT/NAME, an empty database) instead of "
                   "SQLite in the data directory; the keys stay in the data directory (env PINTU_DATABASE).")
@click.pass_context
def init(ctx, database):
    """Create the data directory: database and secret keys, owner-only."""
    data, created = DataDir.init(ctx.obj, database=database or None)
    data.close()
    click.echo(("initialised %s" if created else "%s is already initialised") % ctx.obj)
