"""``flask export`` / ``flask import``: move or back up the catalog as a dump (catalog.dump)."""

import sys
from collections.abc import Mapping

import click
from flask.cli import with_appcontext

# The module rather than its names, so that each command finds its functions at run time.
from catalog import dump


def _summary(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items())


@click.command("export")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@with_appcontext
def export_command(path: str) -> None:
    """Write the whole catalog to FILE as a versioned JSON Lines dump (- for stdout)."""
    dump.require_schema()
    with dump.snapshot() as connection, dump.replaced_atomically(path) as out:
        head = dump.header(connection)
        total = sum(head["tables"].values())
        with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
            dump.write_dump(connection, out, head, progress=bar.update)
    click.echo(f"Exported {_summary(head['tables'])}.", err=True)


@click.command("import")
@click.argument(
    "path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option(
    "--replace",
    is_flag=True,
    help="Delete everything the database holds first, in the same transaction.",
)
@with_appcontext
def import_command(path: str, replace: bool) -> None:
    """Load a dump made by `flask export` into this database, all of it or nothing.

    The database must have the schema (`flask db upgrade`) and, unless --replace,
    no data. Ids, owners and timestamps are kept.
    """
    with click.open_file(path, encoding="utf-8") as source:
        head = dump.read_header(source.readline())
        dump.check_target(replace)
        total = sum(head["tables"].values())
        with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
            loaded = dump.load_rows(source, head, replace=replace, progress=bar.update)
    click.echo(f"Imported {_summary(loaded) or 'nothing: the dump is empty'}.", err=True)
