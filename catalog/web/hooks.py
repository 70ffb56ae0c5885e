"""Extensions' request hooks, made to return at once on requests they have nothing to do for.

Talisman, Flask-Limiter and Flask-WTF each install their hooks when they are bound
to the app, and each hook runs on every request, even one it can only let through:
a read that no limit counts, a read that no CSRF token guards, a request already on
HTTPS. The functions here put a test in front of such a hook, in the hook's own
place among the app's hooks, so that their order (catalog.web) does not change.
"""

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request


def replace(hooks: list[Any], is_old: Callable[[Any], bool], new: Callable[..., Any]) -> Any:
    """Put ``new`` in the place of the one hook in ``hooks`` that ``is_old``; return that hook."""
    (place,) = [n for n, hook in enumerate(hooks) if is_old(hook)]
    old = hooks[place]
    hooks[place] = new
    return old


def _is(hook: Callable[..., Any]) -> Callable[[Any], bool]:
    # Equality, not identity: each access to a bound method makes a new, equal object.
    return lambda found: bool(found == hook)


def guard_before(app: Flask, hook: Callable[[], Any], needed: Callable[[], bool]) -> None:
    """Run the app's ``before_request`` ``hook`` only when ``needed()``."""

    def before() -> Any:
        return hook() if needed() else None

    replace(app.before_request_funcs.setdefault(None, []), _is(hook), before)


def guard_after(
    app: Flask,
    is_hook: Callable[[Any], bool],
    needed: Callable[[], bool],
) -> None:
    """Run the app's ``after_request`` hook that ``is_hook`` only when ``needed()``."""
    hooks = app.after_request_funcs.setdefault(None, [])
    hook: Callable[[Response], Response] | None = None

    def after(response: Response) -> Response:
        return hook(response) if hook is not None and needed() else response

    hook = replace(hooks, is_hook, after)


def guard_teardown(
    app: Flask, hook: Callable[[BaseException | None], Any], needed: Callable[[], bool]
) -> None:
    """Run the app's ``teardown_request`` ``hook`` only when ``needed()``."""

    def teardown(error: BaseException | None) -> None:
        if needed():
            hook(error)

    replace(app.teardown_request_funcs.setdefault(None, []), _is(hook), teardown)


def guard_csrf(app: Flask) -> None:
    """Run Flask-WTF's CSRF check only for the methods it checks (``WTF_CSRF_METHODS``).

    Before its own method test, it looks up the request's blueprint and view to see
    whether they are exempt, on every GET.
    """
    (check,) = [
        hook
        for hook in app.before_request_funcs.setdefault(None, [])
        if getattr(hook, "__qualname__", "") == "CSRFProtect.init_app.<locals>.csrf_protect"
    ]
    guard_before(app, check, lambda: request.method in app.config["WTF_CSRF_METHODS"])
