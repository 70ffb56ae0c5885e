"""How long browsers keep static files: the favicon for a week, the rest checked each time.

The stylesheet and scripts change with the code under the same URL, so they are
revalidated (Flask's default: ``no-cache`` with an ETag, answered 304 while the
same). The favicon, asked for with every page, rarely changes, and a stale one harms
no one, so it is kept.
"""

from datetime import timedelta

from flask import Flask, Response, request

KEPT = frozenset({"favicon.svg"})
KEPT_FOR = timedelta(days=7)


def keep_favicon(response: Response) -> Response:
    if (
        request.endpoint == "static"
        and (request.view_args or {}).get("filename") in KEPT
        and response.status_code in (200, 304)
    ):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = int(KEPT_FOR.total_seconds())
    return response


def init_app(app: Flask) -> None:
    app.after_request(keep_favicon)
