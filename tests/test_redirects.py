"""After sign-in, ``next`` only ever leads back into this site.

``safe_next`` decides, and it is a pure function: every target below is checked against
it alone. Each way of signing in is then checked end to end, on each database, with a
few targets (off the site, a script, and a path on this site), to show that it goes
through ``safe_next`` and redirects or links where it says.
"""

import uuid
from urllib.parse import quote

import pytest
from support.oidc_provider import QUIET_PROVIDER

from catalog.auth import safe_next

pytestmark = QUIET_PROVIDER

# Targets a browser would follow off the site, or into a script.
OFF_SITE = [
    "https://evil.example/",
    "http://evil.example",
    "HTTPS://EVIL.EXAMPLE",
    "//evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "https:evil.example",
    "http:/evil.example",
    "http://localhost@evil.example",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "evil.example",
    "@evil.example",
    "",
    "/" + "a" * 3000,
]
ON_SITE = ["/", "/account", "/catalog/soccer/", "/catalog/soccer/?after=b", "/catalog/книги/"]
# The targets each sign-in path is tried with end to end.
HOSTILE = ["//evil.example", "javascript:alert(document.cookie)"]
# An IRI, which the redirect must send as a URI.
GOOD = "/catalog/книги/"


def location(target):
    """Return the Location header a redirect to ``target`` carries (IRIs become URIs)."""
    return quote(target, safe="/?=&")


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_targets_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ON_SITE)
def test_paths_on_this_site_are_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", HOSTILE)
def test_dev_sign_in_ignores_off_site_next(client, auth, target):
    response = auth.login("ada", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_dev_sign_in_follows_on_site_next(client, auth):
    response = auth.login("ada", next=GOOD)
    assert response.headers["Location"] == location(GOOD)


@pytest.mark.parametrize("target", HOSTILE)
def test_login_page_does_not_pass_off_site_next_along(client, target):
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next" type="hidden" value=""' in page
    assert "evil.example" not in page
    assert "script:" not in page


def test_login_page_passes_on_site_next_along(client):
    page = client.get("/login", query_string={"next": GOOD}).get_data(as_text=True)
    assert f'name="next" type="hidden" value="{GOOD}"' in page


@pytest.mark.parametrize("target", HOSTILE)
def test_signed_in_login_page_ignores_off_site_next(client, auth, target):
    auth.login("ada")
    response = client.get("/login", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_signed_in_login_page_follows_on_site_next(client, auth):
    auth.login("ada")
    response = client.get("/login", query_string={"next": GOOD})
    assert response.headers["Location"] == location(GOOD)


@pytest.fixture
def provider_client(make_app, app, oidc_provider):
    return make_app(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OIDC_ISSUER=oidc_provider.issuer,
        OIDC_CLIENT_ID="catalog-tests",
        OIDC_CLIENT_SECRET="not-a-real-secret",
    ).test_client()


def sign_in_through_provider(client, provider, target):
    subject = f"redirect-{uuid.uuid4().hex[:8]}"
    provider.set_user(subject, email=f"{subject}@example.org", email_verified=True)
    start = client.get("/login/oidc", query_string={"next": target})
    return client.get(provider.consent(start.headers["Location"], subject))


@pytest.mark.parametrize("target", HOSTILE)
def test_provider_sign_in_ignores_off_site_next(provider_client, oidc_provider, target):
    response = sign_in_through_provider(provider_client, oidc_provider, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_provider_sign_in_follows_on_site_next(provider_client, oidc_provider):
    response = sign_in_through_provider(provider_client, oidc_provider, GOOD)
    assert response.headers["Location"] == location(GOOD)
