"""Browser tests: Chromium walks the catalog served by gunicorn on PostgreSQL."""
