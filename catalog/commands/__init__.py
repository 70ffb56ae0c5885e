"""The ``flask`` commands: seed, export and import, doctor; ``init_app`` registers them."""

from catalog import dump, seed
from catalog.commands import doctor


def init_app(app):
    app.cli.add_command(seed.seed_command)
    app.cli.add_command(doctor.doctor_command)
    app.cli.add_command(dump.export_command)
    app.cli.add_command(dump.import_command)
