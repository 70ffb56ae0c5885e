"""Personal API tokens: created on /account and shown once, stored as hashes, revocable."""

import hashlib
import re

import pytest
from sqlalchemy import select
from support.api_data import seed_api_catalog
from support.html_forms import csrf_token
from support.sign_in import AuthActions

from catalog.extensions import db
from catalog.models import ApiToken
from catalog.tokens import TOKENS_PER_USER

SECRET = re.compile(r'value="(cat_[A-Za-z0-9_-]{43})"')


@pytest.fixture
def seeded(app):
    return seed_api_catalog(app)


def create_token(client, label="inventory script"):
    response = client.post("/account/tokens", data={"label": label})
    match = SECRET.search(response.get_data(as_text=True))
    return response, match.group(1) if match else None


def test_a_new_token_is_shown_once_and_works(app, seeded, signed_in):
    ada = signed_in("ada")
    response, secret = create_token(ada)
    assert response.status_code == 200
    assert secret is not None
    assert response.headers["Cache-Control"] == "no-store"

    account = ada.get("/account").get_data(as_text=True)
    assert "inventory script" in account
    assert secret not in account

    created = app.test_client().post(
        "/api/v1/items",
        json={"category": "soccer", "name": "Flag"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert created.status_code == 201
    assert created.get_json()["owner"]["id"] == seeded.users["ada"]


def test_the_token_itself_is_never_stored(app, seeded, signed_in):
    _, secret = create_token(signed_in("ada"))
    with app.app_context():
        rows = db.session.execute(select(ApiToken.__table__)).all()
    stored = [str(value) for row in rows for value in row]
    assert not any(secret in value or secret[4:] in value for value in stored)
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


def test_last_use_is_recorded(app, seeded, signed_in):
    ada = signed_in("ada")
    _, secret = create_token(ada, "recorded")
    assert re.search(
        r'<td class="label">recorded</td>\s*<td data-label="Created">.*?</td>\s*'
        r'<td data-label="Last used">Never</td>',
        ada.get("/account").text,
    )
    app.test_client().post(
        "/api/v1/items",
        json={"category": "soccer", "name": "Flag"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.label == "recorded"))
        assert token.last_used is not None
        assert token.last_used >= token.created
    assert re.search(
        r'<td class="label">recorded</td>\s*<td data-label="Created">.*?</td>\s*'
        r'<td data-label="Last used"><time datetime=',
        ada.get("/account").text,
    )


def test_a_revoked_token_is_401(app, seeded, signed_in):
    ada = signed_in("ada")
    _, secret = create_token(ada, "short-lived")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.label == "short-lived"))
    revoked = ada.post(f"/account/tokens/{token_id}/revoke")
    assert revoked.status_code == 302
    assert "<td>short-lived</td>" not in ada.get("/account").get_data(as_text=True)

    response = app.test_client().delete(
        f"/api/v1/items/{seeded.items['ball']}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 401
    assert re.search(r'error="?invalid_token"?', response.headers["WWW-Authenticate"])


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer cat_unknown",
        "Bearer " + "x" * 43,
        "Bearer",
        "Bearer ",
        "Basic YWRhOnNlY3JldA==",
        "cat_no_scheme",
    ],
)
def test_unknown_or_malformed_tokens_are_401(client, seeded, authorization):
    response = client.post(
        "/api/v1/items",
        json={"category": "soccer", "name": "Flag"},
        headers={"Authorization": authorization},
    )
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_another_users_token_cannot_change_your_item(app, client, seeded):
    url = f"/api/v1/items/{seeded.items['ball']}"  # Ada's
    for method, kwargs in (("patch", {"json": {"name": "Mine now"}}), ("delete", {})):
        response = getattr(client, method)(url, headers=seeded.bearer("sam"), **kwargs)
        assert response.status_code == 403
    assert client.get(url).get_json()["name"] == "Match Ball"


def test_revoking_asks_first_on_a_page_that_needs_no_script(app, seeded, signed_in):
    app.config["WTF_CSRF_ENABLED"] = True
    ada = signed_in("ada")
    account = ada.get("/account").text
    token = csrf_token(account)
    created = ada.post("/account/tokens", data={"label": "old script", "csrf_token": token})
    assert created.status_code == 200
    account = ada.get("/account").text
    link = re.search(
        r'<a class="button danger" href="(/account/tokens/(\d+)/revoke)"'
        r' aria-label="Revoke the token old script"',
        account,
    )
    assert link is not None
    # The link only asks: the token still works until the page's form is sent.
    question = ada.get(link.group(1))
    assert question.status_code == 200
    assert "<h1>Revoke the token “old script”?</h1>" in question.text
    assert f'<form method="post" action="{link.group(1)}" class="card">' in question.text
    with app.app_context():
        assert db.session.get(ApiToken, int(link.group(2))) is not None
    assert ada.post(link.group(1)).status_code == 400  # no CSRF token: refused
    revoked = ada.post(link.group(1), data={"csrf_token": csrf_token(question.text)})
    assert revoked.status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, int(link.group(2))) is None


def test_someone_elses_token_cannot_even_be_asked_about(app, seeded, signed_in):
    ada = signed_in("ada")
    _, _ = create_token(ada)
    with app.app_context():
        adas = db.session.scalar(select(ApiToken.id))
    assert signed_in("sam").get(f"/account/tokens/{adas}/revoke").status_code == 404


def test_you_cannot_revoke_someone_elses_token(app, seeded, signed_in):
    with app.app_context():
        adas = db.session.scalar(
            select(ApiToken.id).where(ApiToken.owner_id == seeded.users["ada"])
        )
    assert signed_in("sam").post(f"/account/tokens/{adas}/revoke").status_code == 404
    with app.app_context():
        assert db.session.get(ApiToken, adas) is not None


@pytest.mark.backend_independent
def test_signed_out_visitors_are_sent_to_sign_in(client, seeded):
    response = client.post("/account/tokens", data={"label": "x"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("label", "message"), [("   ", "Give the token a label"), ("x" * 101, "")])
def test_bad_labels_make_no_token(app, seeded, signed_in, label, message):
    ada = signed_in("ada")
    response, secret = create_token(ada, label)
    assert response.status_code == 302
    assert secret is None
    assert message in ada.get("/account").get_data(as_text=True)
    with app.app_context():
        count = len(db.session.scalars(select(ApiToken.id)).all())
    assert count == 3  # the seeded ones


def test_tokens_per_user_are_capped(app, seeded, signed_in):
    ada = signed_in("ada")
    made = [create_token(ada, f"t{n}")[1] for n in range(TOKENS_PER_USER)]
    assert sum(secret is not None for secret in made) == TOKENS_PER_USER - 1  # one was seeded
    assert "revoke one first" in ada.get("/account").get_data(as_text=True)


def test_token_forms_need_csrf(app, make_app, database_url):
    guarded = make_app(SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True)
    seed_api_catalog(guarded)
    client = guarded.test_client()
    assert AuthActions(client).login("ada").status_code == 302
    assert client.post("/account/tokens", data={"label": "x"}).status_code == 400
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    response = client.post("/account/tokens", data={"label": "x", "csrf_token": token})
    assert SECRET.search(response.get_data(as_text=True))


def test_revoking_an_id_beyond_the_database_is_404(seeded, signed_in):
    assert signed_in("ada").post("/account/tokens/99999999999/revoke").status_code == 404
