"""The operator's command line, `pintu`: thin click commands over the library; errors become one line and exit 2.

Exit codes: 0 done (for check/admit: admitted), 2 bad input (unknown site, malformed NIK, bad date...),
3 refused (check/admit), 1 storage failure.
"""

import json
import logging
import os
import sqlite3
import sys
import time

import click

from pintu import checkin, registry
from pintu.checkin import events, occupancy, trace
from pintu.data.datadir import DataDir
from pintu.data.store import DEFAULT_DATA
from pintu.errors import PintuError
from pintu.gateway import server
from pintu.registry import cards, provision
from pintu.rules.policy import DIRECTIONS, PROFILES, ROLES, STATUSES
from pintu.times import parse_time

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


class DefaultGroup(click.Group):
    """A group that runs `default` when the first word is not one of its commands: `pintu card NIK ...`
    issues a card, `pintu card revoke NIK` revokes."""

    default = None

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


def _data(ctx):
    root = ctx.find_root()
    data = root.meta.get("pintu.data")
    if data is None:
        data = DataDir(root.obj)
        root.meta["pintu.data"] = data
        root.call_on_close(data.close)
    return data


def _emit(as_json, obj, human):
    if as_json:
        click.echo(json.dumps(obj, ensure_ascii=False))
    else:
        human(obj)


def _table(rows, columns):
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


def _pairs(obj, keys=None):
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
@click.pass_context
def init(ctx):
    """Create the data directory: database and secret keys, owner-only."""
    data, created = DataDir.init(ctx.obj)
    data.close()
    click.echo(("initialised %s" if created else "%s is already initialised") % ctx.obj)


# -- sites

site_options = [
    click.option("--name"),
    click.option("--capacity", type=int),
    click.option("--policy", "policy_name", type=click.Choice(tuple(PROFILES))),
    click.option("--referral", help="Referral clinic shown on RED, e.g. 'Puskesmas Karang Kitri'."),
    click.option("--max-stay", help="Automatic check-out after this long, e.g. 8h."),
    click.option(
        "--yellow-admits/--no-yellow-admits",
        default=None,
        help="Whether YELLOW admits once a guard checks (default yes); if not, YELLOW becomes RED.",
    ),
    click.option(
        "--accept-tests/--no-accept-tests",
        default=None,
        help="Whether a recent negative test or a valid recovery on an EU certificate admits (default no).",
    ),
]


def _site_options(func):
    for option in reversed(site_options):
        func = option(func)
    return func


SITE_COLUMNS = (
    ("site", "SITE"),
    ("name", "NAME"),
    ("capacity", "CAPACITY"),
    ("policy", "POLICY"),
    ("max_stay", "MAX STAY"),
    ("yellow_admits", "YELLOW ADMITS"),
    ("referral", "REFERRAL"),
)


@main.group()
def site():
    """Sites: offices, service halls, clinics."""


@site.command("add")
@click.argument("site_id", metavar="ID")
@_site_options
@json_option
@click.pass_context
def site_add(ctx, site_id, name, capacity, policy_name, referral, max_stay, yellow_admits, accept_tests, as_json):
    """Add a site (--name and --capacity are required)."""
    if name is None or capacity is None:
        raise PintuError("site add needs --name and --capacity")
    result = registry.add_site(
        _data(ctx),
        site_id,
        name,
        capacity,
        policy_name or "dose1",
        referral or "",
        max_stay or "8h",
        True if yellow_admits is None else yellow_admits,
        bool(accept_tests),
    )
    _emit(as_json, result, _pairs)


@site.command("set")
@click.argument("site_id", metavar="ID")
@_site_options
@json_option
@click.pass_context
def site_set(ctx, site_id, name, capacity, policy_name, referral, max_stay, yellow_admits, accept_tests, as_json):
    """Change a site's settings."""
    result = registry.set_site(
        _data(ctx), site_id, name, capacity, policy_name, referral, max_stay, yellow_admits, accept_tests
    )
    _emit(as_json, result, _pairs)


@site.command("list")
@json_option
@click.pass_context
def site_list(ctx, as_json):
    """List sites."""
    _emit(as_json, registry.list_sites(_data(ctx)), lambda rows: _table(rows, SITE_COLUMNS))


@site.command("show")
@click.argument("site_id", metavar="ID")
@json_option
@click.pass_context
def site_show(ctx, site_id, as_json):
    """Show one site and its doors."""

    def human(obj):
        _pairs(obj, [key for key in obj if key != "doors"])
        click.echo("doors:")
        _table(obj["doors"], (("door", "DOOR"), ("direction", "DIRECTION")))

    _emit(as_json, registry.show_site(_data(ctx), site_id), human)


# -- doors and devices


@main.group()
def door():
    """Doors of a site (entry, exit or both)."""


@door.command("add")
@click.argument("door_id", metavar="ID")
@click.option("--site", "site_id", required=True)
@click.option("--direction", required=True, type=click.Choice(DIRECTIONS))
@json_option
@click.pass_context
def door_add(ctx, door_id, site_id, direction, as_json):
    """Add a door to a site."""
    _emit(as_json, registry.add_door(_data(ctx), door_id, site_id, direction), _pairs)


@door.command("list")
@click.option("--site", "site_id")
@json_option
@click.pass_context
def door_list(ctx, site_id, as_json):
    """List doors."""
    rows = registry.list_doors(_data(ctx), site_id)
    _emit(as_json, rows, lambda r: _table(r, (("door", "DOOR"), ("site", "SITE"), ("direction", "DIRECTION"))))


@main.group()
def device():
    """Door units, each with its own secret key."""


@device.command("add")
@click.argument("device_id", metavar="ID")
@click.option("--door", "door_id", required=True, help="The door this unit is mounted at.")
@click.option("--link", type=click.Choice(provision.LINKS), default="serial", show_default=True,
              help="How the unit reaches the host: USB serial, or Wi-Fi and MQTT.")
@click.option("--wifi-ssid", help="Wi-Fi network (mqtt units).")
@click.option("--wifi-pass", "wifi_password", help="Wi-Fi password (mqtt units).")
@click.option("--broker", help="HOST[:PORT] of the MQTT broker (mqtt units).")
@click.option("--board", default=provision.DEFAULT_BOARD, show_default=True, help="Board data file in boards/.")
@json_option
@click.pass_context
def device_add(ctx, device_id, door_id, link, wifi_ssid, wifi_password, broker, board, as_json):
    """Register a door unit with a new secret key and write its config file (for `pintu deploy`)."""
    result, path = provision.add_unit(_data(ctx), device_id, door_id, link, wifi_ssid, wifi_password, broker, board)
    result["config"] = path
    _emit(as_json, result, _pairs)


@device.command("list")
@json_option
@click.pass_context
def device_list(ctx, as_json):
    """List door units."""
    columns = (("device", "DEVICE"), ("door", "DOOR"), ("last_seen", "LAST SEEN"), ("firmware", "FIRMWARE"),
               ("board", "BOARD"), ("revoked", "REVOKED"))
    _emit(as_json, registry.list_devices(_data(ctx)), lambda rows: _table(rows, columns))


@device.command("revoke")
@click.argument("device_id", metavar="ID")
@json_option
@click.pass_context
def device_revoke(ctx, device_id, as_json):
    """Revoke a lost or stolen unit: its frames are refused and its config file deleted. Run
    `pintu broker-config` again and send mosquitto a SIGHUP to end its broker login too."""
    _emit(as_json, provision.revoke_unit(_data(ctx), device_id), _pairs)


@main.command("broker-config")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535))
@click.option("--bind", default="0.0.0.0", show_default=True, help="Address the broker listens on.")
@click.option("--run-as", help="User mosquitto runs as (default: you); it will own the files.")
@json_option
@click.pass_context
def broker_config(ctx, out_dir, port, bind, run_as, as_json):
    """Write a Mosquitto config, password file (hashed) and per-device ACL for every unit not revoked."""
    names, password_file, user = provision.broker_config(_data(ctx), out_dir, port, bind, run_as)
    result = {
        "files": [os.path.join(out_dir, name) for name in names],
        "host_user": user,
        "host_password_file": password_file,
        "start": "mosquitto -c %s" % os.path.join(os.path.abspath(out_dir), "mosquitto.conf"),
    }
    _emit(as_json, result, _pairs)


@main.command()
@click.option("--serial", "serial_ports", multiple=True, metavar="PORT",
              help="A unit's serial port or pyserial URL (socket://, loop://); repeatable.")
@click.option("--mqtt", "mqtt_url", metavar="URL", help="Broker, mqtt://HOST:PORT.")
@click.option("--user", "mqtt_user", help="Broker user (default: %s)." % provision.HOST_USER)
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True),
              help="File holding the broker password (default: the data directory's).")
@click.option("--client-id", help="Stable MQTT client id of this worker (default: one per run).")
@click.option("-v", "--verbose", is_flag=True, help="Log every frame's outcome.")
@click.pass_context
def serve(ctx, serial_ports, mqtt_url, mqtt_user, password_file, client_id, verbose):
    """Run the gateway for door units until Ctrl-C or SIGTERM, logging one line per decision."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    password = None
    if mqtt_url:
        data = _data(ctx)
        mqtt_user = mqtt_user or provision.HOST_USER
        if password_file:
            with open(password_file) as f:
                password = f.read().strip()
        elif os.path.exists(os.path.join(data.path, provision.HOST_PASSWORD_FILE)):
            password = provision.host_password(data)
    server.Server(ctx.find_root().obj, serial_ports, mqtt_url, mqtt_user, password, client_id).run_forever()


# -- EU certificate trust anchors


def _anchor_dict(anchor):
    return {
        "kid": anchor.kid_b64,
        "kid_hex": anchor.kid_hex,
        "country": anchor.country,
        "subject": anchor.subject,
        "key": anchor.key_type,
        "not_before": anchor.not_before.date().isoformat(),
        "not_after": anchor.not_after.date().isoformat(),
        "types": anchor.allowed_types,  # entry types it may sign: v vaccination, t test, r recovery
    }


ANCHOR_COLUMNS = (("kid", "KEY ID"), ("country", "COUNTRY"), ("key", "KEY"), ("not_before", "VALID FROM"),
                  ("not_after", "VALID UNTIL"), ("types", "SIGNS"), ("subject", "SUBJECT"))


@main.group()
def trust():
    """Signer certificates trusted for EU Digital COVID Certificates (HC1 codes)."""


@trust.command("import")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--allow-expired", is_flag=True, help="Also import signers that have expired (to check old codes --at).")
@json_option
@click.pass_context
def trust_import(ctx, path, allow_expired, as_json):
    """Trust the signers in FILE: PEM or DER certificates, or a JSON list of them."""
    anchors = [_anchor_dict(a) for a in _data(ctx).trust.import_file(path, allow_expired=allow_expired)]
    _emit(as_json, anchors, lambda rows: _table(rows, ANCHOR_COLUMNS))


@trust.command("list")
@json_option
@click.pass_context
def trust_list(ctx, as_json):
    """List trusted signers by key id (the first 8 bytes of the certificate's SHA-256)."""
    anchors = [_anchor_dict(a) for a in _data(ctx).trust.list()]
    _emit(as_json, anchors, lambda rows: _table(rows, ANCHOR_COLUMNS))


@trust.command("remove")
@click.argument("kid", metavar="KID")
@json_option
@click.pass_context
def trust_remove(ctx, kid, as_json):
    """Stop trusting the signer with this key id (base64, as `trust list` shows, or hex)."""
    anchors = [_anchor_dict(a) for a in _data(ctx).trust.remove(kid)]
    _emit(as_json, anchors, lambda rows: _table(rows, ANCHOR_COLUMNS))


# -- persons


def _person_human(obj):
    _pairs(obj, ("person", "name", "role", "status", "status_since", "status_until", "cards"))
    click.echo("doses:")
    _table(obj["doses"], (("number", "#"), ("date", "DATE"), ("vaccine", "VACCINE")))


@main.group()
def person():
    """Persons, their doses and health status (looked up by NIK)."""


@person.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-bad", is_flag=True, help="Import the good rows even if some rows are bad.")
@json_option
@click.pass_context
def person_import(ctx, file, skip_bad, as_json):
    """Import persons from CSV: nik,name,role,dose1,dose2,dose3,status,status_until (dates ISO).
    A file with bad rows imports nothing unless --skip-bad."""
    data = _data(ctx)
    rows, total = registry.read_import_file(file)
    with click.progressbar(length=total, label="checking rows", file=sys.stderr) as bar:
        try:
            report = registry.import_persons(data, rows, skip_bad=skip_bad, progress=bar.update)
        except PintuError as exc:
            report = getattr(exc, "report", None)
            if report is not None:
                bar.render_finish()
                _show_bad_rows(report.bad)
            raise
    if report.bad:
        _show_bad_rows(report.bad, "skipped ")
    result = {
        "rows": report.rows,
        "imported": report.imported,
        "bad": [{"line": line, "error": error} for line, error in report.bad],
    }
    _emit(as_json, result, lambda r: click.echo("imported %d of %d rows" % (r["imported"], r["rows"])))


def _show_bad_rows(bad, prefix=""):
    for line, error in bad[:MAX_BAD_ROWS_SHOWN]:
        click.echo("%sline %d: %s" % (prefix, line, error), err=True)
    if len(bad) > MAX_BAD_ROWS_SHOWN:
        click.echo("... and %d more bad rows" % (len(bad) - MAX_BAD_ROWS_SHOWN), err=True)


@person.command("add")
@click.option("--nik", required=True)
@click.option("--name", default="")
@click.option("--role", default="visitor", show_default=True, type=click.Choice(ROLES))
@json_option
@click.pass_context
def person_add(ctx, nik, name, role, as_json):
    """Add a person."""
    _emit(as_json, registry.add_person(_data(ctx), nik, name, role), _person_human)


@person.command("dose")
@click.argument("nik")
@click.option("--date", "day", required=True, help="ISO date, e.g. 2021-08-17.")
@click.option("--vaccine", default="")
@json_option
@click.pass_context
def person_dose(ctx, nik, day, vaccine, as_json):
    """Record the person's next vaccine dose."""
    _emit(as_json, registry.add_dose(_data(ctx), nik, day, vaccine), _person_human)


@person.command("status")
@click.argument("nik")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--until", help="Last day (ISO) the status applies; default: until set to clear.")
@json_option
@click.pass_context
def person_status(ctx, nik, status, until, as_json):
    """Set health status: positive or contact is refused (BLACK) from today until --until."""
    _emit(as_json, registry.set_status(_data(ctx), nik, status, until), _person_human)


@person.command("show")
@click.argument("nik")
@json_option
@click.pass_context
def person_show(ctx, nik, as_json):
    """Show a person, found by NIK."""
    _emit(as_json, registry.show_person(_data(ctx), nik), _person_human)


# -- cards


@main.group(cls=DefaultGroup)
def card():
    """Issue a printable card: pintu card NIK --site SITE --out FILE.png|.svg; revoke: pintu card revoke NIK."""


DefaultGroup.default = "issue"


@card.command("issue")
@click.argument("nik")
@click.option("--site", "site_id", required=True, help="Site whose name is printed on the card.")
@click.option("--out", type=click.Path(dir_okay=False), help="Card file: .png or .svg.")
@json_option
@click.pass_context
def card_issue(ctx, nik, site_id, out, as_json):
    """Issue a card; prints the code's text on stdout."""
    result = cards.issue_card(_data(ctx), nik, site_id, out)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(result["code"])
    if out:
        click.echo("card written to %s" % out, err=True)


@card.command("revoke")
@click.argument("nik")
@json_option
@click.pass_context
def card_revoke(ctx, nik, as_json):
    """Revoke all of the person's cards: they scan INVALID."""
    result = cards.revoke_cards(_data(ctx), nik)
    _emit(as_json, result, lambda r: click.echo("revoked %d card(s)" % r["revoked"]))


# -- decisions


def _decision_human(decision):
    line = "%-7s %s (%s)" % (decision["verdict"], _meaning(decision["verdict"]), decision["reason"])
    if decision["site"] is not None:
        line += "  site %s %s/%s" % (decision["site"], decision["occupancy"], decision["capacity"])
    click.echo(line)
    if decision["referral"]:
        click.echo("        %s" % decision["referral"])


def _meaning(name):
    from pintu_protocol.verdicts import VERDICTS

    for entry in VERDICTS.values():
        if entry[0] == name:
            return entry[1]
    return ""


def _finish_decision(ctx, decision, as_json):
    _emit(as_json, decision.to_dict(), _decision_human)
    if not decision.admitted:
        ctx.exit(EXIT_REFUSED)


@main.command()
@click.option("--door", "door_id", required=True)
@click.argument("code")
@click.option("--direction", type=click.Choice(("in", "out")), help="For a two-way door (default in).")
@click.option("--dry-run", is_flag=True, help="Decide but record nothing.")
@click.option("--at", "at_text", help="Decide as at this ISO date/time (default now).")
@json_option
@click.pass_context
def check(ctx, door_id, code, direction, dry_run, at_text, as_json):
    """Decide a scanned CODE (or - to read it from stdin) exactly as a door unit would.
    Exit 0 if admitted, 3 if refused."""
    if code == "-":
        code = sys.stdin.read()
    at = None if at_text is None else parse_time(at_text, time.time())
    decision = checkin.check(_data(ctx), door_id, code, direction=direction, dry_run=dry_run, at=at)
    _finish_decision(ctx, decision, as_json)


@main.command()
@click.option("--site", "site_id", required=True)
@click.argument("nik")
@click.option("--operator", help="Who let the person in.")
@json_option
@click.pass_context
def admit(ctx, site_id, nik, operator, as_json):
    """A guard's manual entry for someone without a phone: same policy, recorded as manual.
    Exit 0 if admitted, 3 if refused."""
    decision = checkin.admit(_data(ctx), site_id, nik, operator=operator)
    _finish_decision(ctx, decision, as_json)


@main.command("occupancy")
@click.argument("site_id", metavar="[SITE]", required=False)
@json_option
@click.pass_context
def occupancy_cmd(ctx, site_id, as_json):
    """Who is inside now, by role."""
    rows = occupancy.occupancy(_data(ctx), site_id)
    columns = (
        ("site", "SITE"),
        ("inside", "INSIDE"),
        ("capacity", "CAPACITY"),
        ("free", "FREE"),
        ("employees", "EMPLOYEES"),
        ("visitors", "VISITORS"),
        ("name", "NAME"),
    )
    _emit(as_json, rows, lambda r: _table(r, columns))


@main.command("events")
@click.option("--site", "site_id")
@click.option("--since", help="ISO date or time, or a duration back from now (e.g. 2h).")
@click.option("--verdict", help="GREEN, YELLOW, RED, BLACK, FULL, INVALID or EXIT.")
@click.option("--limit", default=50, show_default=True, type=int)
@json_option
@click.pass_context
def events_cmd(ctx, site_id, since, verdict, limit, as_json):
    """The decision record, newest first. Flagged (!) rows are BLACK alerts for the guard."""
    rows = events.list_events(_data(ctx), site_id, since, verdict, limit)

    def human(rows):
        for row in rows:
            row["flag"] = "!" if row["flagged"] else ""
        _table(
            rows,
            (
                ("time", "TIME"),
                ("site", "SITE"),
                ("door", "DOOR"),
                ("verdict", "VERDICT"),
                ("flag", "!"),
                ("reason", "REASON"),
                ("person", "PERSON"),
                ("how", "HOW"),
                ("occupancy", "INSIDE"),
            ),
        )

    _emit(as_json, rows, human)


@main.command("trace")
@click.argument("nik")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3650))
@json_option
@click.pass_context
def trace_cmd(ctx, nik, days, as_json):
    """Who was at the same site at overlapping times, over the last --days days."""
    result = trace.trace(_data(ctx), nik, days)

    def human(obj):
        click.echo("person %s, last %d days: %d overlapping visit(s)" % (obj["person"], days, len(obj["contacts"])))
        _table(
            obj["contacts"],
            (
                ("person", "PERSON"),
                ("name", "NAME"),
                ("role", "ROLE"),
                ("site", "SITE"),
                ("from", "FROM"),
                ("until", "UNTIL"),
                ("overlap_min", "MINUTES"),
            ),
        )

    _emit(as_json, result, human)


@main.command()
@click.option("--older-than", required=True, help="e.g. 30d")
@json_option
@click.pass_context
def purge(ctx, older_than, as_json):
    """Delete events and finished visits older than --older-than."""
    result = events.purge(_data(ctx), older_than)
    _emit(
        as_json,
        result,
        lambda r: click.echo(
            "purged %d events, %d visits, %d scan records older than %s"
            % (r["events"], r["visits"], r["scans"], r["cutoff"])
        ),
    )


# -- technicians: flash, deploy, simulate; and the demo (thin layers over flash.py, deploy.py, simulator.py, demo.py)


@main.command()
@click.option("--port", required=True, help="Serial port of the board, e.g. /dev/ttyUSB0.")
@click.option("--chip", required=True, type=click.Choice(("esp32", "esp32s2", "esp32s3", "esp32c3")))
@click.option("--image", required=True, metavar="MICROPYTHON.bin", help="The MicroPython image for the board.")
@click.option("--erase", is_flag=True, help="Erase the whole flash first (a first install, or a broken filesystem).")
@click.option("--baud", default=460800, show_default=True, type=int, help="Rate for writing (after the ROM sync).")
@json_option
def flash(port, chip, image, erase, baud, as_json):
    """Write MicroPython to a board: checks the image and the chip first, verifies after writing."""
    from pintu.tech import flash as flash_mod

    plan = flash_mod.FlashPlan(port, chip, image, erase, baud)
    with flash_mod.esptool_output_to_stderr():
        result = flash_mod.flash(plan, log=lambda text: click.echo("pintu: " + text, err=True))
    _emit(as_json, result, lambda r: click.echo("flashed %s (%d bytes) to the %s on %s at %s, verified"
                                                % (r["image"], r["bytes"], r["chip"], r["port"], r["offset"])))


@main.command()
@click.option("--port", required=True, help="The board's serial port or any pyserial URL (socket://HOST:PORT).")
@click.option("--device", "device_id", required=True, help="A unit registered with pintu device add.")
@click.option("--dry-run", is_flag=True,
              help="Say which form (.mpy or .py) would be installed, list what would be copied and removed and "
                   "what is unchanged; write nothing.")
@click.option("--source", is_flag=True,
              help="Install the modules under /lib as .py sources, not .mpy compiled by mpy-cross (for debugging).")
@click.option("--hello-timeout", default=15.0, show_default=True, type=float,
              help="Seconds to wait for the unit's HELLO after the reset.")
@json_option
@click.pass_context
def deploy(ctx, port, device_id, dry_run, source, hello_timeout, as_json):
    """Copy the firmware, protocol, umqtt (as .mpy compiled by mpy-cross), board file and the unit's config to a
    board; reset it; wait for HELLO. Files whose SHA-256 already matches on the board are skipped."""
    from pintu.tech import deploy as deploy_mod

    result = deploy_mod.deploy(ctx.find_root().obj, device_id, port, dry_run=dry_run, hello_timeout=hello_timeout,
                               source=source, log=lambda text: click.echo("pintu: " + text, err=True))

    def human(r):
        form = "compiled .mpy modules" if r["form"] == "mpy" else ".py sources"
        if r["dry_run"]:
            click.echo("would install %s under /lib" % form)
            for target in r["would_copy"]:
                click.echo("would copy %s" % target)
            for target in r["would_remove"]:
                click.echo("would remove %s" % target)
            click.echo("%d to copy, %d unchanged, %d to remove" % (len(r["would_copy"]), len(r["unchanged"]),
                                                                  len(r["would_remove"])))
            return
        click.echo("installed %s under /lib" % form)
        click.echo("copied %d file(s), %d unchanged" % (len(r["copied"]), len(r["unchanged"])))
        if r["removed"]:
            click.echo("removed %d file(s) of the other form: %s" % (len(r["removed"]), ", ".join(r["removed"])))
        if r["hello"]:
            click.echo("%s says HELLO: firmware %s on %s" % (r["device"], r["hello"]["firmware"],
                                                             r["hello"]["board"]))

    _emit(as_json, result, human)


@main.command()
@click.option("--units", "n_units", default=1, show_default=True, type=click.IntRange(1, 10000))
@click.option("--serial", "serial_ports", multiple=True, metavar="PORT",
              help="One serial port or pyserial URL per unit (the host serves the other end); repeatable.")
@click.option("--mqtt", "mqtt_url", metavar="URL", help="Broker, mqtt://HOST:PORT.")
@click.option("--codes", "codes_file", type=click.Path(dir_okay=False),
              help="Codes to show, one per line (default: made-up codes the host finds INVALID).")
@click.option("--rate", default=1.0, show_default=True, type=float, help="Scans per second, all units together.")
@click.option("--count", type=click.IntRange(1), help="Stop after this many scans (default: one per code).")
@click.option("--seconds", type=float, help="Stop after this long.")
@click.option("--config", "config_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Unit configs written by pintu device add (default: made-up units with simulator keys).")
@json_option
def simulate(n_units, serial_ports, mqtt_url, codes_file, rate, count, seconds, config_files, as_json):
    """Run simulated door units (the real firmware under CPython) against a host, then print their stats."""
    from pintu.tech import simulator

    if bool(serial_ports) == bool(mqtt_url):
        raise PintuError("give --serial PORT (one per unit) or --mqtt URL")
    if rate <= 0:
        raise PintuError("--rate must be above 0")
    try:
        stats = simulator.run_simulation(units=n_units, serial=list(serial_ports) or None, mqtt=mqtt_url,
                                         codes_file=codes_file, rate=rate, count=count, duration=seconds,
                                         config_files=list(config_files) or None)
    except simulator.SimulatorError as e:
        raise PintuError(str(e)) from None

    def human(s):
        click.echo("%d scans in %.1f s: %s" % (s["scans"], s["seconds"], ", ".join(
            "%s %d" % kv for kv in sorted(s["patterns"].items())) or "no feedback"))
        click.echo("duplicates %d, busy %d, queued %d, errors %d" % (s["duplicates"], s["busy"], s["queued"],
                                                                    s["errors"]))

    _emit(as_json, stats, human)


@main.command()
@click.option("--mqtt", "mqtt_url", metavar="URL", help="Run the units and host through this broker (mqtt://HOST:PORT).")
@click.option("--seconds", type=click.FloatRange(min=1), help="Stop after this long (default: one round of visitors).")
@click.option("--forever", is_flag=True, help="Keep visitors coming until Ctrl-C.")
@click.option("--pace", default=0.8, show_default=True, type=click.FloatRange(min=0),
              help="Seconds between visitors.")
@click.option("--keep", is_flag=True, help="Keep the throw-away folder (data directory and cards).")
def demo(mqtt_url, seconds, forever, pace, keep):
    """The whole system on this machine: a site, persons, cards, the host and three simulated units, live."""
    import signal
    import threading

    from pintu.tech import demo as demo_mod

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        demo_mod.run_demo(mqtt=mqtt_url, seconds=seconds, forever=forever, keep=keep, pace=pace, stop_event=stop)
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    main()
