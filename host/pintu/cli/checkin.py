"""`pintu check|admit|occupancy|events|trace|purge`: deciding at the door and reading the record."""

import sys
import time

import click

from pintu import checkin
from pintu.checkin import events, occupancy, trace
from pintu.cli.base import EXIT_REFUSED, data_of, emit, json_option, main, table
from pintu.errors import PintuError
from pintu.registry.validate import parse_time

# `check --at` later than this is in the future: it would decide (and record) a visit that has not happened.
AT_SKEW_S = 300


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
    emit(as_json, decision.to_dict(), _decision_human)
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
    now = time.time()
    at = None if at_text is None else parse_time(at_text, now, "--at")
    if at is not None and at > now + AT_SKEW_S and not dry_run:
        # A decision in the future would open a visit now and rewrite who is inside: only a dry run may look ahead.
        raise PintuError("--at %s is in the future: add --dry-run (nothing is recorded then)" % at_text.strip())
    decision = checkin.check(data_of(ctx), door_id, code, direction=direction, dry_run=dry_run, at=at)
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
    decision = checkin.admit(data_of(ctx), site_id, nik, operator=operator)
    _finish_decision(ctx, decision, as_json)


@main.command("occupancy")
@click.argument("site_id", metavar="[SITE]", required=False)
@json_option
@click.pass_context
def occupancy_cmd(ctx, site_id, as_json):
    """Who is inside now, by role."""
    rows = occupancy.occupancy(data_of(ctx), site_id)
    columns = (
        ("site", "SITE"),
        ("inside", "INSIDE"),
        ("capacity", "CAPACITY"),
        ("free", "FREE"),
        ("employees", "EMPLOYEES"),
        ("visitors", "VISITORS"),
        ("name", "NAME"),
    )
    emit(as_json, rows, lambda r: table(r, columns))


EVENT_COLUMNS = (("time", "TIME"), ("site", "SITE"), ("door", "DOOR"), ("verdict", "VERDICT"), ("flag", "!"),
                 ("reason", "REASON"), ("person", "PERSON"), ("how", "HOW"), ("occupancy", "INSIDE"))


@main.command("events")
@click.option("--site", "site_id")
@click.option("--since", help="ISO date or time, or a duration back from now (e.g. 2h).")
@click.option("--verdict", help="GREEN, YELLOW, RED, BLACK, FULL, INVALID or EXIT.")
@click.option("--limit", default=50, show_default=True, type=int, help="At most this many (1 to 1,000,000).")
@click.option("--names", is_flag=True, help="Show each person's name next to their number.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (an export: use --limit and --since).")
@json_option
@click.pass_context
def events_cmd(ctx, site_id, since, verdict, limit, names, as_csv, as_json):
    """The decision record, newest first. Flagged (!) rows are BLACK alerts for the guard."""
    rows = events.list_events(data_of(ctx), site_id, since, verdict, limit, names=names)
    columns = EVENT_COLUMNS + ((("name", "NAME"),) if names else ())
    if as_csv:
        click.echo(events.events_csv(rows), nl=False)
        return

    def human(rows):
        for row in rows:
            row["flag"] = "!" if row["flagged"] else ""
        table(rows, columns)

    emit(as_json, rows, human)


@main.command("report")
@click.option("--day", required=True, help="ISO date (the host's local calendar day).")
@json_option
@click.pass_context
def report(ctx, day, as_json):
    """One day's counts per site: by hour and verdict, and refusals by reason."""
    result = events.day_report(data_of(ctx), day)

    def human(r):
        click.echo("report for %s" % r["day"])
        if not r["sites"]:
            click.echo("(no events)")
        for site in r["sites"]:
            click.echo("site %s: %d decisions, %d admitted, %d refused" % (site["site"] or "(no site)",
                                                                         site["total"], site["admitted"],
                                                                         site["refused"]))
            verdicts = sorted({v for hour in site["by_hour"].values() for v in hour})
            rows = [{"hour": "%s:00" % h, **counts} for h, counts in sorted(site["by_hour"].items())]
            table(rows, [("hour", "HOUR")] + [(v, v) for v in verdicts])
            if site["refusals"]:
                click.echo("refusals by reason: " + ", ".join("%s %d" % kv for kv in sorted(site["refusals"].items())))

    emit(as_json, result, human)


@main.command("trace")
@click.argument("nik")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 3650))
@json_option
@click.pass_context
def trace_cmd(ctx, nik, days, as_json):
    """Who was at the same site at overlapping times, over the last --days days."""
    result = trace.trace(data_of(ctx), nik, days)

    def human(obj):
        click.echo("person %s, last %d days: %d overlapping visit(s)" % (obj["person"], days, len(obj["contacts"])))
        table(
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

    emit(as_json, result, human)


@main.command()
@click.option("--older-than", help="e.g. 30d (a unit is required); default: each site's --retention.")
@click.option("--yes", is_flag=True, help="Do not ask: delete what is shown.")
@json_option
@click.pass_context
def purge(ctx, older_than, yes, as_json):
    """Delete events and finished visits older than --older-than (or each site's retention), resent-scan records
    whose event is gone, and EU certificate holders nothing refers to any more. Shows what it will delete and asks."""
    data = data_of(ctx)
    plan = events.purge(data, older_than, dry_run=True)
    if not yes:
        what = _purge_text(plan)
        if not sys.stdin.isatty():
            raise PintuError("would delete %s; run again with --yes to confirm" % what)
        click.confirm("pintu: delete %s?" % what, abort=True, err=True)
    result = events.purge(data, older_than)
    emit(as_json, result, lambda r: click.echo("purged %s" % _purge_text(r)))


def _purge_text(r):
    cutoff = r["cutoff"] if r["cutoff"].startswith("each") else "older than %s" % r["cutoff"]
    return "%d events, %d visits, %d scan records and %d certificate holders (%s)" % (
        r["events"], r["visits"], r["scans"], r["holders"], cutoff)
