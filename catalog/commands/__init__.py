"""The ``flask`` commands: ``seed``, ``export`` and ``import``, ``doctor``.

Each command is a thin click wrapper in a module of this package; what it does lives
below (catalog.seed, catalog.dump), except doctor's checks, which only it runs.
``init_app`` registers them all.
"""

from flask import Flask

from catalog.commands import doctor, dump, seed


def init_app(app: Flask) -> None:
    app.cli.add_command(seed.seed_command)
    app.cli.add_command(dump.export_command)
    app.cli.add_command(dump.import_command)
    app.cli.add_command(doctor.doctor_command)
