"""`pintu person|card|trust`: persons with their doses and status, their cards, and the trusted EU signers."""

import json
import sys

import click

from pintu import registry
from pintu.cli.base import (
    MAX_BAD_ROWS_SHOWN,
    DefaultGroup,
    data_of,
    emit,
    json_option,
    main,
    pairs,
    table,
)
from pintu.errors import PintuError
from pintu.registry import cards
from pintu.rules.policy import ROLES, STATUSES


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
    anchors = [_anchor_dict(a) for a in data_of(ctx).trust.import_file(path, allow_expired=allow_expired)]
    emit(as_json, anchors, lambda rows: table(rows, ANCHOR_COLUMNS))


@trust.command("list")
@json_option
@click.pass_context
def trust_list(ctx, as_json):
    """List trusted signers by key id (the first 8 bytes of the certificate's SHA-256)."""
    anchors = [_anchor_dict(a) for a in data_of(ctx).trust.list()]
    emit(as_json, anchors, lambda rows: table(rows, ANCHOR_COLUMNS))


@trust.command("remove")
@click.argument("kid", metavar="KID")
@json_option
@click.pass_context
def trust_remove(ctx, kid, as_json):
    """Stop trusting the signer with this key id (base64, as `trust list` shows, or hex)."""
    anchors = [_anchor_dict(a) for a in data_of(ctx).trust.remove(kid)]
    emit(as_json, anchors, lambda rows: table(rows, ANCHOR_COLUMNS))


# -- persons


def _person_human(obj):
    pairs(obj, ("person", "name", "role", "status", "status_since", "status_until", "cards"))
    click.echo("doses:")
    table(obj["doses"], (("number", "#"), ("date", "DATE"), ("vaccine", "VACCINE")))


@main.group()
def person():
    """Persons, their doses and health status (looked up by NIK)."""


@person.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-bad", is_flag=True, help="Import the good rows even if some rows are bad.")
@click.option("--dry-run", is_flag=True, help="Check every row and show what would change; write nothing.")
@json_option
@click.pass_context
def person_import(ctx, file, skip_bad, dry_run, as_json):
    """Import persons from CSV: nik,name,role,dose1,dose2,dose3,status,status_until (dates ISO). An empty cell leaves
    that field unchanged; doses are only added. A file with bad rows imports nothing unless --skip-bad."""
    data = data_of(ctx)
    rows, total = registry.read_import_file(file)
    with click.progressbar(length=total, label="checking rows", file=sys.stderr) as bar:
        try:
            report = registry.import_persons(data, rows, skip_bad=skip_bad, progress=bar.update, dry_run=dry_run)
        except PintuError as exc:
            report = getattr(exc, "report", None)
            if report is not None:
                bar.render_finish()
                _show_bad_rows(report.bad)
            raise
    if report.bad:
        _show_bad_rows(report.bad, "skipped ")
    if report.lowered:
        lines = ", ".join(str(line) for line in report.lowered[:MAX_BAD_ROWS_SHOWN])
        more = " ..." if len(report.lowered) > MAX_BAD_ROWS_SHOWN else ""
        click.echo("pintu: warning: %d status(es) %s lowered from positive or contact (line %s%s)"
                   % (len(report.lowered), "would be" if dry_run else "were", lines, more), err=True)
    result = {
        "rows": report.rows,
        "imported": report.imported,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "statuses_changed": report.statuses,
        "statuses_lowered": report.lowered,
        "doses_added": report.doses_added,
        "dry_run": dry_run,
        "bad": [{"line": line, "error": error} for line, error in report.bad],
    }
    emit(as_json, result, _import_human)


def _import_human(r):
    click.echo("%s %d of %d rows: %d persons added, %d updated, %d unchanged; %d status(es) changed (%d lowered "
               "from positive or contact); %d dose(s) added"
               % ("dry run, nothing written: would import" if r["dry_run"] else "imported", r["imported"], r["rows"],
                  r["added"], r["updated"], r["unchanged"], r["statuses_changed"], len(r["statuses_lowered"]),
                  r["doses_added"]))


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
    emit(as_json, registry.add_person(data_of(ctx), nik, name, role), _person_human)


class _DoseGroup(DefaultGroup):
    default = "add"


@person.group("dose", cls=_DoseGroup)
def person_dose():
    """Record the next dose: pintu person dose NIK --date DATE; remove one: pintu person dose remove NIK."""


@person_dose.command("add")
@click.argument("nik")
@click.option("--date", "day", required=True, help="ISO date, e.g. 2021-08-17 (not in the future, not before 2020).")
@click.option("--vaccine", default="")
@json_option
@click.pass_context
def person_dose_add(ctx, nik, day, vaccine, as_json):
    """Record the person's next vaccine dose."""
    emit(as_json, registry.add_dose(data_of(ctx), nik, day, vaccine), _person_human)


@person_dose.command("remove")
@click.argument("nik")
@click.option("--number", type=click.IntRange(1, 3), help="Which dose (default: the last one).")
@json_option
@click.pass_context
def person_dose_remove(ctx, nik, number, as_json):
    """Remove a dose recorded in error; later doses move down one number."""
    emit(as_json, registry.remove_dose(data_of(ctx), nik, number), _person_human)


@person.command("status")
@click.argument("nik")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--until", help="Last day (ISO) the status applies; default: until set to clear.")
@json_option
@click.pass_context
def person_status(ctx, nik, status, until, as_json):
    """Set health status: positive or contact is refused (BLACK) from today until --until."""
    emit(as_json, registry.set_status(data_of(ctx), nik, status, until), _person_human)


@person.command("list")
@click.option("--site", "site_id", help="Only persons holding a valid card for this site.")
@click.option("--status", type=click.Choice(STATUSES))
@json_option
@click.pass_context
def person_list(ctx, site_id, status, as_json):
    """List registry persons (by their number; NIKs are kept only as keyed hashes)."""
    rows = registry.list_persons(data_of(ctx), site_id, status)
    columns = (("person", "PERSON"), ("name", "NAME"), ("role", "ROLE"), ("status", "STATUS"), ("doses", "DOSES"),
               ("cards", "CARDS"))
    emit(as_json, rows, lambda r: table(r, columns))


@person.command("show")
@click.argument("nik")
@json_option
@click.pass_context
def person_show(ctx, nik, as_json):
    """Show a person, found by NIK."""
    emit(as_json, registry.show_person(data_of(ctx), nik), _person_human)


# -- cards


class _CardGroup(DefaultGroup):
    default = "issue"


@main.group(cls=_CardGroup)
def card():
    """Issue a printable card: pintu card NIK --site SITE --out FILE.png|.svg; revoke: pintu card revoke NIK."""


@card.command("issue")
@click.argument("nik")
@click.option("--site", "site_id", required=True, help="Site whose name is printed on the card.")
@click.option("--out", type=click.Path(dir_okay=False), help="Card file: .png or .svg.")
@json_option
@click.pass_context
def card_issue(ctx, nik, site_id, out, as_json):
    """Issue a card; prints the code's text on stdout."""
    result = cards.issue_card(data_of(ctx), nik, site_id, out)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(result["code"])
    if out:
        click.echo("card written to %s" % out, err=True)


@card.command("print")
@click.option("--site", "site_id", required=True, help="Site the cards are for (its name is printed).")
@click.option("--role", type=click.Choice(ROLES), help="Only persons with this role.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The PDF sheet to write.")
@json_option
@click.pass_context
def card_print(ctx, site_id, role, out, as_json):
    """Issue a card for every person (of --role) and write them on A4 PDF sheets, ten to a page."""
    from pintu.registry.card_sheet import print_cards

    result = print_cards(data_of(ctx), site_id, out, role)
    emit(as_json, result, lambda r: click.echo("%d card(s) on %d page(s) written to %s"
                                               % (r["cards"], r["pages"], r["file"])))


@card.command("revoke")
@click.argument("nik")
@json_option
@click.pass_context
def card_revoke(ctx, nik, as_json):
    """Revoke all of the person's cards: they scan INVALID."""
    result = cards.revoke_cards(data_of(ctx), nik)
    emit(as_json, result, lambda r: click.echo("revoked %d card(s)" % r["revoked"]))
