"""Pictures of items: checked and resized once at upload, stored in the database, served cached.

``processing`` is Pillow alone: check, orient, strip, resize, encode.
"""
