"""Fixtures for the browser tests: one server and one browser per session, fresh contexts per test.

The app runs under real gunicorn on a throwaway PostgreSQL database (see ``server``),
people sign in through the OpenID Connect provider's own page, and Debian's Chromium
does the browsing. Without Chromium the tests are skipped, except in CI, where they
must run; without ``TEST_DATABASE_URL`` they are skipped (CI always sets it).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from support.services import admin_url, throwaway_postgresql_database

from e2e import server
from e2e.actions import Members

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Only loopback exists for these tests: the provider's page links a stylesheet from a
    # CDN, which must fail at once rather than hold the page until a network timeout.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
# Items added on top of the demo catalog, spread over its 10 categories: enough for
# every category to run to three pages of 20.
SYNTHETIC_ITEMS = 400
TIMEOUT_MS = 15_000
RESULTS = server.ROOT / "test-results"

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Return Chromium's path; skip without it, except in CI, where that is a failure."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests.")
        pytest.skip(f"{reason}: browser tests skipped.")
    return CHROMIUM


@pytest.fixture(scope="session", params=["postgresql"])
def backend(request) -> str:
    """Name the database the browser tests run on (it shows in their ids)."""
    if admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set: the browser tests run on PostgreSQL")
    return request.param


@pytest.fixture(scope="session")
def live_server(backend, chromium, oidc_provider, tmp_path_factory):
    """Serve a seeded catalog with gunicorn; yield its base URL. Fail on any traceback."""
    home = tmp_path_factory.mktemp("e2e-server")
    # Kept after the run (test-results/ is git-ignored), for a look when a test failed.
    log_path = RESULTS / "e2e-server.log"
    RESULTS.mkdir(exist_ok=True)
    with throwaway_postgresql_database("catalog_e2e") as database_url:
        env = server.environment(home, database_url, oidc_provider.issuer)
        server.flask(env, "db", "upgrade")
        server.flask(env, "seed", "--items", str(SYNTHETIC_ITEMS))
        with server.gunicorn(env, log_path) as url:
            yield url
    log = log_path.read_text()
    assert "Traceback" not in log, f"the server logged an error:\n{log[-5000:]}"


@pytest.fixture(scope="session")
def browser(chromium):
    """Launch one headless Chromium for the whole session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def members(browser, live_server, oidc_provider):
    """Signed-in browser states, one sign-in through the provider per person per session."""
    return Members(browser, live_server, oidc_provider)


@pytest.fixture
def new_context(browser, live_server, members):
    """Return a factory of fresh browser contexts on the app; ``as_member`` signs one in.

    Contexts share nothing (cookies, storage), and all are closed after the test.
    """
    contexts = []

    def make(as_member: str | None = None, **options):
        if as_member is not None:
            options["storage_state"] = members.state(as_member)
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A page in a fresh context, signed out."""
    return new_context().new_page()
