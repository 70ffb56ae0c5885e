"""The fixed cost of a request: hooks that return at once, headers made once, no idle session.

Each shortcut must answer exactly as the extension it stands in front of would; these
tests pin both halves, that the work is skipped and that the answer is the same.
"""

import logging
import re
from datetime import UTC, datetime

import pytest
from flask import Flask, Response
from flask_limiter import Limiter

from catalog.extensions import limiter
from catalog.web.sessions import CookieSessions
from catalog.web.templating import timestamp

HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.mark.backend_independent
@pytest.mark.parametrize("headers", [HTTPS, {}], ids=["https", "http"])
def test_security_headers_are_talismans_own(make_app, database_url, headers):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, FORCE_HTTPS=True)
    talisman = app.extensions["talisman"]
    response = app.test_client().get("/bench-nothing-here", headers=headers)
    expected = Response()
    expected.headers.clear()
    secure = "https" if headers else "http"
    with app.test_request_context(base_url=f"{secure}://localhost/", headers=headers):
        talisman._set_response_headers(expected)
    assert expected.headers, "Talisman sends security headers"
    for name, value in expected.headers.items():
        assert response.headers.get(name) == value
    assert ("Strict-Transport-Security" in response.headers) is bool(headers)


@pytest.mark.backend_independent
def test_plain_http_is_still_redirected_and_https_is_not(make_app, database_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, FORCE_HTTPS=True)
    client = app.test_client()
    plain = client.get("/no-such-page")
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://localhost/no-such-page"
    assert client.get("/no-such-page", headers=HTTPS).status_code == 404


def test_a_request_without_a_cookie_opens_and_saves_no_session(client, monkeypatch):
    interface = client.application.session_interface
    assert isinstance(interface, CookieSessions)
    built = []
    real = CookieSessions.get_signing_serializer

    def counted(self, app):
        built.append(app)
        return real(self, app)

    monkeypatch.setattr(CookieSessions, "get_signing_serializer", counted)
    response = client.get("/")
    assert response.status_code == 200
    assert built == []
    assert "Set-Cookie" not in response.headers
    # The page read the session to find no user: it varies by cookie, as Flask says.
    assert "Cookie" in response.headers.get("Vary", "")


@pytest.mark.backend_independent
def test_the_session_serializer_is_built_once_per_secret_key(make_app, database_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    app.secret_key = "another-secret-key"
    assert interface.get_signing_serializer(app) is not first


def test_a_signed_in_session_still_round_trips(client, auth):
    auth.login()
    response = client.get("/account")
    assert response.status_code == 200  # signed out, it would redirect to sign in
    client.post("/logout")
    assert client.get("/account").status_code == 302


def test_the_limiter_looks_only_at_requests_it_may_limit(make_app, database_url, monkeypatch):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_WRITES="1 per minute")
    looked = []
    real = Limiter.identify_request

    def counted(self):
        looked.append(1)
        return real(self)

    monkeypatch.setattr(Limiter, "identify_request", counted)
    client = app.test_client()
    read = client.get("/healthz")
    assert read.status_code == 200
    assert looked == []
    assert "X-RateLimit-Limit" not in read.headers
    first = client.post("/logout")
    assert looked
    assert first.headers["X-RateLimit-Limit"] == "1"
    assert client.post("/logout").status_code == 429
    assert limiter.enabled


def test_the_csrf_check_still_refuses_a_page_write_without_its_token(make_app, database_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 400


@pytest.mark.backend_independent
def test_the_request_log_line_and_id_are_as_before(make_app, database_url, caplog):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    caplog.set_level(logging.INFO, logger="catalog.requests")
    given = {"X-Request-ID": "router-1"}
    response = app.test_client().get("/no such page%", headers=given)
    assert response.headers["X-Request-ID"] == "router-1"
    line = caplog.records[-1].getMessage()
    assert re.fullmatch(
        r'method=GET path="/no such page%" status=404 duration=\d+\.\dms request_id=router-1',
        line,
    )


def test_timestamp_filter_shows_the_minute_and_the_exact_time():
    shown = timestamp(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    assert shown == '<time datetime="2024-05-06T07:08:09+00:00">2024-05-06 07:08 UTC</time>'


class _Hooks:
    def plain(self) -> None:
        return None

    async def coroutine(self) -> None:
        return None


@pytest.mark.backend_independent
def test_plain_functions_are_called_as_they_are_and_coroutines_as_flask_would(
    make_app, database_url
):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    hooks = _Hooks()

    def plain() -> None:
        return None

    async def coroutine() -> None:
        return None

    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(hooks.plain) == hooks.plain
    for func in (coroutine, hooks.coroutine):
        # Flask's own answer: wrapped to run to its end, or refused without asgiref.
        try:
            expected = Flask.ensure_sync(app, func)
        except RuntimeError as refused:
            with pytest.raises(RuntimeError, match=re.escape(str(refused))):
                app.ensure_sync(func)
        else:
            assert app.ensure_sync(func) is not func
            assert type(app.ensure_sync(func)) is type(expected)
