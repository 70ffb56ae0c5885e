"""``flask seed``: load the demo catalog, and synthetic items for scale."""

import click
from flask.cli import with_appcontext

from catalog.seed import seed_demo, seed_synthetic


@click.command("seed")
@click.option(
    "--items",
    "count",
    type=click.IntRange(min=1),
    default=None,
    help="Also add this many synthetic items, spread over the categories.",
)
@with_appcontext
def seed_command(count: int | None) -> None:
    """Fill an empty database with the demo catalog; optionally add N synthetic items."""
    if seed_demo():
        click.echo("Loaded the demo catalog.")
    else:
        click.echo("The catalog already has data; demo data not loaded again.")
    if count:
        with click.progressbar(length=count, label=f"Adding {count:,} items") as bar:
            seed_synthetic(count, progress=bar.update)
        click.echo(f"Added {count:,} items.")
