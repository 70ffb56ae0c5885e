"""What the tests share besides fixtures: services, servers, data and page readers.

Fixtures and hooks live in ``tests/conftest.py``; the modules here are plain helpers,
imported as ``from support.x import ...`` (``tests/`` is on the path, see pyproject.toml).
``served_app`` is also gunicorn's entry point for the tests that serve the app.
"""
