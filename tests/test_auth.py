"""Sign-in through a real OpenID Connect provider, dev sign-in, sign-out and sessions."""

import base64
import hashlib
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select
from support.oidc_provider import QUIET_PROVIDER, provider_in_thread
from support.sign_in import AuthActions

from catalog.extensions import db
from catalog.models import User, UserSession

pytestmark = QUIET_PROVIDER

ADMIN = "boss@example.com"


def make_oidc_app(make_app, app, issuer, **settings):
    """Return an app on ``app``'s (emptied) database that signs in through ``issuer``."""
    return make_app(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OIDC_ISSUER=issuer,
        OIDC_CLIENT_ID="catalog-tests",
        OIDC_CLIENT_SECRET="not-a-real-secret",
        CATALOG_ADMINS=ADMIN,
        **settings,
    )


@pytest.fixture
def oidc_app(make_app, app, oidc_provider):
    return make_oidc_app(make_app, app, oidc_provider.issuer)


@pytest.fixture
def oidc_client(oidc_app):
    return oidc_app.test_client()


@pytest.fixture
def person(oidc_provider):
    """A new person known to the provider, with a verified e-mail."""
    subject = f"person-{uuid.uuid4().hex[:12]}"
    claims = {"email": f"{subject}@example.org", "email_verified": True, "name": "Pat Example"}
    oidc_provider.set_user(subject, **claims)
    return subject, claims


def replace_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def start_sign_in(client, next=None):
    """Begin signing in; return the provider's authorization URL the browser is sent to."""
    response = client.get("/login/oidc", query_string={"next": next} if next else None)
    assert response.status_code == 302
    return response.headers["Location"]


def users(app):
    with app.app_context():
        return list(db.session.scalars(select(User).order_by(User.id)))


def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def assert_failed_page(response, status, words):
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert "<h1>Sign-in failed</h1>" in page
    assert words in page
    assert 'href="/login' in page  # a way to try again
    assert "Traceback" not in page


def test_full_sign_in_creates_the_user_and_returns_to_next(
    oidc_app, oidc_client, oidc_provider, person
):
    subject, claims = person
    with oidc_client.session_transaction() as session:
        session["planted"] = "from before sign-in"

    authorize_url = start_sign_in(oidc_client, next="/catalog/")
    assert authorize_url.startswith(f"{oidc_provider.issuer}/")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    assert query["redirect_uri"] == ["http://localhost/login/callback"]
    assert len(query["state"][0]) >= 20
    assert len(query["nonce"][0]) >= 20
    assert query["code_challenge_method"] == ["S256"]
    with oidc_client.session_transaction() as session:
        saved = session[f"_state_oidc_{query['state'][0]}"]["data"]
    digest = hashlib.sha256(saved["code_verifier"].encode()).digest()
    assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]

    back = oidc_provider.consent(authorize_url, subject)
    response = oidc_client.get(back)
    assert response.status_code == 302
    assert response.headers["Location"] == "/catalog/"

    [user] = users(oidc_app)
    assert (user.issuer, user.subject) == (oidc_provider.issuer, subject)
    assert (user.email, user.name) == (claims["email"], "Pat Example")
    with oidc_client.session_transaction() as session:
        assert "planted" not in session  # a fresh session at sign-in
        assert session["user_id"] == user.id
    page = oidc_client.get("/account").get_data(as_text=True)
    assert "Pat Example" in page
    assert claims["email"] in page


def test_second_sign_in_updates_the_same_user(oidc_app, oidc_provider, person):
    subject, claims = person
    first = oidc_app.test_client()
    first.get(oidc_provider.consent(start_sign_in(first), subject))
    [before] = users(oidc_app)

    oidc_provider.set_user(
        subject, email="new@example.org", email_verified=True, name="Pat Renamed"
    )
    second = oidc_app.test_client()
    response = second.get(oidc_provider.consent(start_sign_in(second), subject))
    assert response.status_code == 302

    [after] = users(oidc_app)
    assert after.id == before.id
    assert (after.email, after.name) == ("new@example.org", "Pat Renamed")


def test_unverified_email_is_not_trusted(oidc_app, oidc_client, oidc_provider):
    subject = f"claims-admin-{uuid.uuid4().hex[:8]}"
    oidc_provider.set_user(subject, email=ADMIN, email_verified=False, name="Mallory")
    oidc_client.get(oidc_provider.consent(start_sign_in(oidc_client), subject))
    [user] = users(oidc_app)
    assert user.email == ""
    page = oidc_client.get("/account").get_data(as_text=True)
    assert "Member: you can add items" in page
    assert oidc_client.get("/categories/new").status_code == 403


def test_tampered_state_ends_on_the_error_page(oidc_app, oidc_client, oidc_provider, person):
    back = oidc_provider.consent(start_sign_in(oidc_client), person[0])
    response = oidc_client.get(replace_query(back, state="forged-state"))
    assert_failed_page(response, 400, "state did not match")
    assert user_count(oidc_app) == 0


def test_callback_without_a_sign_in_in_progress_is_refused(oidc_app, oidc_client):
    response = oidc_client.get("/login/callback?code=abc&state=xyz")
    assert_failed_page(response, 400, "did not start here")
    assert user_count(oidc_app) == 0


def test_wrong_nonce_ends_on_the_error_page(oidc_app, oidc_client, oidc_provider, person):
    authorize_url = replace_query(start_sign_in(oidc_client), nonce="not-the-nonce-we-sent")
    response = oidc_client.get(oidc_provider.consent(authorize_url, person[0]))
    assert_failed_page(response, 400, "did not check out")
    assert user_count(oidc_app) == 0


def test_provider_error_ends_on_the_error_page(oidc_app, oidc_client, oidc_provider):
    back = oidc_provider.deny(start_sign_in(oidc_client, next="/account"))
    assert "error=access_denied" in back
    response = oidc_client.get(back)
    assert_failed_page(response, 400, "Sign-in was cancelled")
    assert 'href="/login?next=/account"' in response.get_data(as_text=True)
    assert user_count(oidc_app) == 0


def test_bad_or_used_code_ends_on_the_error_page(oidc_app, oidc_client, oidc_provider, person):
    back = oidc_provider.consent(start_sign_in(oidc_client), person[0])
    response = oidc_client.get(replace_query(back, code="expired-or-made-up"))
    assert_failed_page(response, 400, "refused the sign-in code")
    assert user_count(oidc_app) == 0


def test_replayed_callback_is_refused(oidc_app, oidc_client, oidc_provider, person):
    back = oidc_provider.consent(start_sign_in(oidc_client), person[0])
    assert oidc_client.get(back).status_code == 302
    replay = oidc_app.test_client().get(back)
    assert_failed_page(replay, 400, "did not start here")
    assert user_count(oidc_app) == 1


@pytest.mark.backend_independent
def test_unreachable_provider_at_sign_in_is_a_page_not_a_500(make_app, app, unreachable_url):
    client = make_oidc_app(make_app, app, unreachable_url).test_client()
    response = client.get("/login/oidc?next=/account")
    assert_failed_page(response, 502, "could not be reached")
    assert 'href="/login?next=/account"' in response.get_data(as_text=True)


def test_provider_gone_before_the_callback_is_a_page_not_a_500(make_app, app, person):
    subject, claims = person
    with provider_in_thread() as provider:
        provider.set_user(subject, **claims)
        client = make_oidc_app(make_app, app, provider.issuer).test_client()
        back = provider.consent(start_sign_in(client), subject)
    response = client.get(back)  # the provider has stopped: the code cannot be exchanged
    assert_failed_page(response, 502, "could not be reached")
    assert user_count(app) == 0


@pytest.mark.backend_independent
def test_login_page_tells_visitors_plainly_when_no_provider_is_configured(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign-in is not available right now" in page
    # How to configure the server is for its operator, not for visitors.
    assert "OIDC_CLIENT_ID" not in page
    assert "not configured on this server" not in page
    assert "Development sign-in" in page
    assert client.get("/login/oidc").status_code == 404


@pytest.mark.backend_independent
def test_login_page_tells_the_operator_how_to_configure_it_in_debug(app):
    app.debug = True
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "not configured on this server" in page
    assert "<code>OIDC_CLIENT_ID</code>" in page
    assert "Sign-in is not available right now" not in page


def test_account_page_tells_admins_how_to_configure_sign_in(app, signed_in):
    app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    admin_page = signed_in("lena").get("/account").get_data(as_text=True)
    assert "<code>OIDC_CLIENT_ID</code>" in admin_page
    member_page = signed_in("ada").get("/account").get_data(as_text=True)
    assert "OIDC_CLIENT_ID" not in member_page


def test_account_page_says_nothing_of_configuration_when_sign_in_works(oidc_app):
    oidc_app.config["CATALOG_ADMINS"] = frozenset({"lena@example.com"})
    client = oidc_app.test_client()
    assert AuthActions(client).login("lena").status_code == 302
    assert "OIDC_CLIENT_ID" not in client.get("/account").get_data(as_text=True)


@pytest.mark.backend_independent
def test_login_page_offers_the_provider_when_configured(oidc_client):
    page = oidc_client.get("/login?next=/account").get_data(as_text=True)
    assert "Sign in with localhost" in page
    assert 'href="/login/oidc?next=/account"' in page


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_dev_sign_in_does_not_exist_outside_debug_and_testing(make_app, app, method):
    client = make_app(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], DEV_LOGIN=False
    ).test_client()
    response = client.open("/login/dev", method=method, data={"subject": "ada"})
    assert response.status_code == 404
    assert "Development sign-in" not in client.get("/login").get_data(as_text=True)
    assert user_count(app) == 0


def test_dev_sign_in_is_off_in_production_config(make_app):
    assert make_app(TESTING=False, SECRET_KEY="x" * 32).config["DEV_LOGIN"] is False


def test_dev_sign_in_signs_in_a_demo_user(app, client, auth):
    response = auth.login("sam", next="/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    [user] = users(app)
    assert (user.subject, user.email, user.name) == ("sam", "sam@example.com", "Sam Okafor")
    page = client.get("/").get_data(as_text=True)
    assert "Sam Okafor" in page
    assert ">Sign out</button>" in page
    assert 'href="/catalog/new">Add item</a>' in page


def test_dev_sign_in_refuses_unknown_users(app, client):
    assert client.post("/login/dev", data={"subject": "eve"}).status_code == 400
    assert user_count(app) == 0


def test_anonymous_header_offers_sign_in_and_comes_back(client):
    page = client.get("/catalog/soccer/?after=b").get_data(as_text=True)
    assert 'href="/login?next=/catalog/soccer/?after%3Db">Sign in</a>' in page
    assert "Sign out" not in page


def test_login_required_sends_to_sign_in_and_back(client, auth):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account"
    assert auth.login("ada", next="/account").headers["Location"] == "/account"
    assert client.get("/account").status_code == 200


def test_fresh_session_at_dev_sign_in(client, auth):
    with client.session_transaction() as session:
        session["planted"] = "fixation attempt"
    auth.login("ada")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "user_id" in session


def test_cookie_saved_before_sign_out_is_refused_after_it(client, auth):
    auth.login("ada")
    saved = client.get_cookie("session").value
    assert client.get("/account").status_code == 200

    assert auth.logout().headers["Location"] == "/"
    client.set_cookie("session", saved)  # replay the old cookie
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "Ada Brooks" not in client.get("/").get_data(as_text=True)


def test_sign_out_everywhere_ends_every_session(app, signed_in):
    laptop, phone = signed_in("ada"), signed_in("ada")
    other_person = signed_in("sam")
    assert phone.get("/account").status_code == 200

    page = laptop.get("/account").get_data(as_text=True)
    assert "Sign out everywhere" in page
    response = laptop.post("/account/sign-out-everywhere")
    assert response.status_code == 302
    assert "signed out everywhere" in laptop.get("/").get_data(as_text=True)

    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302
    assert other_person.get("/account").status_code == 200
    assert session_owners(app) == ["sam"]


def test_sign_out_ends_only_this_browsers_session(app, signed_in):
    laptop, phone = signed_in("ada"), signed_in("ada")
    saved = laptop.get_cookie("session").value
    assert session_owners(app) == ["ada", "ada"]

    assert laptop.post("/logout").status_code == 302
    assert laptop.get("/account").status_code == 302
    laptop.set_cookie("session", saved)  # a copy of the old cookie is refused too
    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 200  # the other device stays signed in
    assert session_owners(app) == ["ada"]


def session_owners(app):
    with app.app_context():
        return list(
            db.session.scalars(
                select(User.subject).join(User.sessions).order_by(UserSession.created)
            )
        )


def test_sign_out_is_a_post(client, auth):
    auth.login("ada")
    # GET shows the sign-out button (tests/test_page_details.py) and changes nothing.
    assert client.get("/logout").status_code == 200
    assert client.get("/account").status_code == 200


def test_sign_out_when_signed_out_is_harmless(client):
    response = client.post("/logout")
    assert response.status_code == 302
    assert "You have signed out." in client.get("/").get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite_lax(client, auth):
    cookie = auth.login("ada").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.backend_independent
def test_session_cookie_is_secure_outside_debug(make_app, app, oidc_provider):
    production = make_oidc_app(make_app, app, oidc_provider.issuer, TESTING=False, DEV_LOGIN=False)
    client = production.test_client()
    response = client.get("/login/oidc", base_url="https://catalog.example")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_account_page_says_who_you_are(client, auth):
    auth.login("lena")
    page = client.get("/account").get_data(as_text=True)
    assert "Lena Fischer" in page
    assert "lena@example.com" in page
    assert "Development sign-in (demo user)" in page
    assert 'action="/account/sign-out-everywhere"' in page
