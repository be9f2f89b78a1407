"""`pintu migrate`: moving a data directory's records from SQLite to PostgreSQL (README, Scaling out)."""

import click

from pintu.cli.base import emit, json_option, main, pairs
from pintu.data.datadir import DB_NAME, migrate_to


@main.command()
@click.option("--to", "url", required=True, metavar="URL",
              help="An empty PostgreSQL database: postgresql://USER@HOST:PORT/NAME.")
@json_option
@click.pass_context
def migrate(ctx, url, as_json):
    """Copy the data directory's SQLite database into PostgreSQL, in one transaction, and use PostgreSQL from then
    on (the keys stay in the data directory). Stop every `pintu serve` of this data directory first."""
    data_dir = ctx.find_root().obj
    counts = migrate_to(data_dir, url)
    emit(as_json, {"copied": counts, "left_behind": DB_NAME}, lambda result: (
        pairs(result["copied"]),
        click.echo("%s is no longer used; it holds personal data: delete it once the copy is checked"
                   % result["left_behind"]),
    ))
