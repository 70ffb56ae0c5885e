"""Pictures of items: checked and resized once at upload, stored in the database, served cached.

``processing`` is Pillow alone (check, orient, strip, resize, encode); ``drawing`` makes
the demo catalog's pictures; ``store`` keeps pictures in the database, once each, and
deletes those no item shows any more; ``views`` serves the files. The larger body limit
of the routes that take a picture is web plumbing (catalog.web.uploads).
"""
