"""`pintu guard|holds|confirm|refuse|checkout`: guards and their cards, the YELLOWs waiting for them, and the
guard's answers and manual exits from the command line (issue 13)."""

import click

from pintu import checkin
from pintu.checkin import holds
from pintu.cli.base import EXIT_REFUSED, data_of, emit, json_option, main, pairs, table
from pintu.registry import guards


@main.group()
def guard():
    """Guards of a site: their cards confirm a YELLOW at the door."""


@guard.command("add")
@click.argument("name")
@click.option("--site", "site_id", required=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Card file: .png or .svg.")
@json_option
@click.pass_context
def guard_add(ctx, name, site_id, out, as_json):
    """Add a guard and issue their card; prints the card's code on stdout."""
    result = guards.add_guard(data_of(ctx), name, site_id, out)
    if as_json:
        emit(True, result, None)
        return
    click.echo(result["code"])
    click.echo("guard %d added%s" % (result["guard"], " (card written to %s)" % out if out else ""), err=True)


GUARD_COLUMNS = (("guard", "GUARD"), ("name", "NAME"), ("site", "SITE"), ("issued", "ISSUED"),
                 ("revoked", "REVOKED"))


@guard.command("list")
@click.option("--site", "site_id")
@json_option
@click.pass_context
def guard_list(ctx, site_id, as_json):
    """List guards."""
    emit(as_json, guards.list_guards(data_of(ctx), site_id), lambda rows: table(rows, GUARD_COLUMNS))


@guard.command("revoke")
@click.argument("guard_id", metavar="ID", type=int)
@json_option
@click.pass_context
def guard_revoke(ctx, guard_id, as_json):
    """Revoke a guard's card: it confirms nothing from now on."""
    emit(as_json, guards.revoke_guard(data_of(ctx), guard_id), pairs)


@main.command("holds")
@click.argument("site_id", metavar="SITE")
@json_option
@click.pass_context
def holds_cmd(ctx, site_id, as_json):
    """The YELLOWs waiting for the guard at SITE: a place is held for each until it expires."""
    columns = (("hold", "HOLD"), ("person", "PERSON"), ("door", "DOOR"), ("since", "SINCE"), ("expires", "EXPIRES"))
    emit(as_json, holds.pending(data_of(ctx), site_id), lambda rows: table(rows, columns))


def _decision(ctx, decision, as_json):
    def human(obj):
        line = "%-7s %s  site %s %s/%s" % (obj["verdict"], obj["reason"], obj["site"], obj["occupancy"],
                                          obj["capacity"])
        click.echo(line)

    emit(as_json, decision.to_dict(), human)
    return decision


def _answer(confirm):
    @click.option("--site", "site_id", required=True)
    @click.argument("nik")
    @click.option("--operator", help="The guard answering.")
    @json_option
    @click.pass_context
    def command(ctx, site_id, nik, operator, as_json):
        decision = checkin.settle_hold(data_of(ctx), site_id, nik, confirm, operator=operator)
        _decision(ctx, decision, as_json)
        if confirm and not decision.admitted:
            ctx.exit(EXIT_REFUSED)

    return command


main.command("confirm", help="The guard confirms the YELLOW held for NIK at --site: admitted now (exit 0; 3 if the "
             "site filled up meanwhile).")(_answer(True))
main.command("refuse", help="The guard refuses the YELLOW held for NIK at --site: the place is released.")(
    _answer(False))


@main.command()
@click.option("--site", "site_id", required=True)
@click.argument("nik")
@click.option("--operator", help="Who let the person out.")
@json_option
@click.pass_context
def checkout(ctx, site_id, nik, operator, as_json):
    """Check NIK out of --site by hand: anyone, a manual admission too, whatever their card or status now.
    Exit 0 if a visit was closed, 3 if they were not inside."""
    decision = _decision(ctx, checkin.checkout(data_of(ctx), site_id, nik, operator=operator), as_json)
    if decision.reason_name in ("not_inside", "host_fault"):
        ctx.exit(EXIT_REFUSED)
