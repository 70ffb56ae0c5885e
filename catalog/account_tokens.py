"""The account page's API tokens: create one (its secret shown once), revoke one after asking.

Issuing and looking tokens up is ``catalog.tokens``; these views only answer the
account page's forms. The page itself, with the list of tokens, is ``auth.account``.
"""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from catalog.auth import login_required
from catalog.extensions import db
from catalog.forms import ButtonForm, TokenForm
from catalog.lookups import get_token
from catalog.models import ApiToken
from catalog.tokens import TOKENS_PER_USER, issue_token
from catalog.web import limits

bp = Blueprint("tokens", __name__)
limits.limit_writes(bp)


@bp.post("/account/tokens")
@login_required
def create() -> ResponseReturnValue:
    """Create a token and show its secret, this once."""
    form = TokenForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("auth.account", _anchor="api-tokens"))
    count = db.session.execute(
        select(func.count()).select_from(ApiToken).where(ApiToken.owner_id == g.user.id)
    ).scalar_one()
    if count >= TOKENS_PER_USER:
        flash(f"You have {count} tokens, the most allowed; revoke one first.", "error")
        return redirect(url_for("auth.account", _anchor="api-tokens"))
    token, secret = issue_token(g.user, form.label.data or "")  # validated: never empty
    db.session.commit()
    response = render_template("tokens/created.html", token=token, secret=secret)
    # The secret must not linger in any cache, the browser's included.
    return response, {"Cache-Control": "no-store"}


@bp.route("/account/tokens/<int_id:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke(token_id: int) -> ResponseReturnValue:
    """Ask before revoking one of the user's tokens (GET), then delete it (POST).

    Programs using it get 401 from then on, and it cannot be brought back, hence the
    question first: a page, so that it needs no script.
    """
    token = get_token(g.user, token_id)
    if request.method == "GET":
        return render_template("tokens/revoke.html", token=token, form=ButtonForm())
    label = token.label
    db.session.delete(token)
    db.session.commit()
    flash(f"Revoked the token “{label}”.", "success")
    return redirect(url_for("auth.account", _anchor="api-tokens"))
