"""Pages that change the catalog: add, edit and delete items; admins manage categories.

Every view checks who may act (``login_required``, ``get_item(..., check_owner=True)``,
``admin_required``), lets ``catalog.changes`` apply the rules, commits once and
redirects with a flash message. A form with errors comes back with the person's
input and 422; a save over a newer version gets the 409 conflict page.
"""

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from catalog import changes
from catalog.auth import admin_required, login_required
from catalog.extensions import db
from catalog.forms import (
    ButtonForm,
    CategoryForm,
    DeleteItemForm,
    EditItemForm,
    ItemForm,
    refuse,
)
from catalog.images.processing import megabytes
from catalog.links import Links, Shown
from catalog.lookups import get_category, get_item
from catalog.models import Category, Item
from catalog.web import errors, limits, uploads
from catalog.web.users import load_user

bp = Blueprint("manage", __name__)
limits.limit_writes(bp)

# A form that failed validation is sent back with this status, the person's input kept.
INVALID = 422


def categories() -> list[Category]:
    """Return every category by name, for the item form's list (admins keep it short)."""
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def item_url(item: Item) -> str:
    return url_for("catalog.item", category_slug=item.category.slug, item_slug=item.slug)


def category_url(category: Category) -> str:
    return url_for("catalog.category", category_slug=category.slug)


def item_data(item: Item) -> dict[str, Any]:
    """Return what the edit form starts from: the item as saved."""
    return {
        "name": item.name,
        "category": item.category_id,
        "description": item.description,
        "image_alt": item.image_alt,
        "version": item.version,
    }


def picture_change(form: EditItemForm) -> dict[str, Any]:
    """Return the ``picture`` change the edit form asks for: a new one, none, or no change."""
    if form.picture_upload is not None:
        return {"picture": form.picture_upload}
    if form.remove_picture.data:
        return {"picture": None}
    return {}


def current_picture(item: Item | None) -> Shown | None:
    """Return the thumbnail of ``item``'s picture, for the edit form, or None."""
    if item is None or item.image is None:
        return None
    image = item.image
    return Links(external=False).picture(image.sha256, image.width, image.height, "200")


def name_taken(refused: changes.DuplicateName, taken: changes.Taken | None) -> Markup:
    """Return the form's message for a name already taken, linking to what holds it."""
    before, name, after = changes.taken_message(refused, taken)
    if taken is None:
        return Markup("{}{}{}").format(before, name, after)
    links = Links(external=False)
    url = (
        links.item_url(taken.category_slug, taken.item_slug)
        if taken.item_slug is not None
        else links.category_url(taken.category_slug)
    )
    return Markup('{}<a class="name-taken" href="{}">{}</a>{}').format(before, url, name, after)


def already_added(
    taken: changes.Taken | None, fields: dict[str, Any], form: ItemForm
) -> Item | None:
    """Return the signed-in user's item that ``taken`` names if it is what ``fields`` and
    the form's picture would add, so the add form was sent again; else None."""
    if taken is None or taken.item_id is None:
        return None
    saved = db.session.get(Item, taken.item_id)
    if saved is None or saved.owner_id != g.user.id:
        return None
    return saved if changes.same_as_saved(saved, **fields, picture=form.picture_upload) else None


def render_item_form(form: ItemForm, item: Item | None, status: int) -> tuple[str, int]:
    """Show the add (``item`` None) or edit form, with a note when a picture must be re-sent."""
    if status >= 400 and form.picture_sent and not form.picture.errors:
        # Browsers never fill a file field in again: say so, rather than lose it quietly.
        form.picture.errors = [
            "Choose the picture again: it was not saved, because of the other errors here."
        ]
    return render_template(
        "manage/item_form.html",
        form=form,
        item=item,
        picture=current_picture(item),
        picture_limit=megabytes(uploads.max_bytes()),
    ), status


@bp.route("/catalog/new", methods=["GET", "POST"])
@login_required
def add_item() -> ResponseReturnValue:
    """Add an item owned by the signed-in user."""
    choices = categories()
    form = ItemForm(categories=choices)
    if request.method == "GET":
        wanted = request.args.get("category")
        form.category.data = next((c.id for c in choices if c.slug == wanted), None)
    if form.validate_on_submit():
        fields: dict[str, Any] = {
            "name": form.name.data or "",
            "description": form.description.data or "",
            "category": form.chosen_category,
            "image_alt": form.image_alt.data or "",
        }
        try:
            item = changes.add_item(
                g.user,
                fields["category"],
                fields["name"],
                fields["description"],
                picture=form.picture_upload,
                image_alt=fields["image_alt"],
            )
        except changes.DuplicateName as refused:
            taken = changes.taken_by(refused)
            saved = already_added(taken, fields, form)
            if saved is not None:
                flash(
                    f"“{saved.name}” was already added to {saved.category.name}, just as "
                    "you sent it again; nothing new was saved.",
                    "info",
                )
                return redirect(item_url(saved))
            refuse(form.name, name_taken(refused, taken))
        else:
            db.session.commit()
            flash(f"Added “{item.name}” to {item.category.name}.", "success")
            return redirect(item_url(item))
    return render_item_form(form, None, _status(form))


@bp.route("/catalog/<category_slug>/<item_slug>/edit", methods=["GET", "POST"])
@login_required
def edit_item(category_slug: str, item_slug: str) -> ResponseReturnValue:
    """Change an item's name, category, description or picture, unless someone saved first."""
    item = get_item(category_slug, item_slug, check_owner=True)
    choices = categories()
    form = EditItemForm(categories=choices, data=item_data(item))
    if form.validate_on_submit():
        item_id = item.id
        fields: dict[str, Any] = {
            "name": form.name.data or "",
            "description": form.description.data or "",
            "category": form.chosen_category,
            "image_alt": form.image_alt.data or "",
            **picture_change(form),
        }
        try:
            changes.change_item(item, form.version.data, **fields)
        except changes.StaleVersion:
            saved = db.session.get(Item, item_id)
            if saved is not None and changes.same_as_saved(saved, **fields):
                # The newer version is this very text: the form was sent again.
                flash(f"Your changes to “{saved.name}” were already saved.", "info")
                return redirect(item_url(saved))
            return conflict(form, saved, choices)
        except changes.DuplicateName as refused:
            refuse(form.name, name_taken(refused, changes.taken_by(refused)))
        else:
            db.session.commit()
            flash(f"Saved your changes to “{item.name}”.", "success")
            return redirect(item_url(item))
    return render_item_form(form, item, _status(form))


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Show the item form again with the picture refused, after an upload over the limit.

    The body was refused before it was read (catalog.web.uploads), before the
    sign-in and owner checks of the view, which are made here instead; anything
    else over the limit gets the plain 413 page.
    """
    size = request.content_length
    if request.endpoint not in uploads.FORM_ENDPOINTS:
        return errors.render_too_large(error)
    if size is not None and size <= uploads.form_limit():
        # Within the limit, what was too large is a text field.
        limit = current_app.config["MAX_CONTENT_LENGTH"] // 1024
        return errors.render_too_large(
            RequestEntityTooLarge(
                description=f"This form's text is larger than the {limit} KiB this site "
                "accepts; nothing was saved. Shorten the text and try again."
            )
        )
    if "user" not in g:
        load_user()
    item = None
    if request.endpoint == "manage.edit_item":
        slugs = request.view_args or {}
        try:
            item = get_item(slugs["category_slug"], slugs["item_slug"], check_owner=True)
        except HTTPException:  # no such item, or not theirs to change
            return errors.render_too_large(error)
    elif g.user is None:
        return errors.render_too_large(error)
    choices = categories()
    form = (
        EditItemForm(formdata=None, categories=choices, data=item_data(item))
        if item is not None
        else ItemForm(formdata=None, categories=choices)
    )
    form.picture.errors = [uploads.too_large(size) + " Your other changes were not saved either."]
    return render_item_form(form, item, 413)


def conflict(
    form: EditItemForm, saved: Item | None, choices: list[Category]
) -> ResponseReturnValue:
    """Answer 409 with the newer saved version beside the person's own text.

    The person's text comes back in a form stamped with the saved version, so
    saving it again is a deliberate choice to replace what the other person wrote.
    """
    retry = EditItemForm(
        formdata=None,
        categories=choices,
        data={
            "name": form.name.data,
            "category": form.category.data,
            "description": form.description.data,
            "image_alt": form.image_alt.data,
            "remove_picture": form.remove_picture.data,
            "version": saved.version if saved else None,
        },
    )
    return render_template(
        "manage/conflict.html",
        form=retry,
        saved=saved,
        picture=current_picture(saved),
        picture_limit=megabytes(uploads.max_bytes()),
        picture_sent=form.picture_sent,
    ), 409


@bp.route("/catalog/<category_slug>/<item_slug>/delete", methods=["GET", "POST"])
@login_required
def delete_item(category_slug: str, item_slug: str) -> ResponseReturnValue:
    """Ask for confirmation, then delete the item as the person saw it."""
    item = get_item(category_slug, item_slug, check_owner=True)
    form = DeleteItemForm(data={"version": item.version})
    status = _status()
    if form.validate_on_submit():
        name, category, item_id = item.name, item.category, item.id
        try:
            changes.remove_item(item, form.version.data)
        except changes.StaleVersion as refused:
            current = db.session.get(Item, item_id)
            if current is None:
                flash(f"“{name}” had already been deleted.", "info")
                return redirect(category_url(category))
            flash(f"{refused} Check it again before deleting.", "error")
            item, status = current, 409
            form = DeleteItemForm(formdata=None, data={"version": current.version})
        else:
            db.session.commit()
            flash(f"Deleted “{name}”.", "success")
            return redirect(category_url(category))
    return render_template("manage/delete_item.html", form=form, item=item), status


@bp.route("/categories/new", methods=["GET", "POST"])
@admin_required
def add_category() -> ResponseReturnValue:
    """Create a category (admins only)."""
    form = CategoryForm()
    if form.validate_on_submit():
        name, description = form.name.data or "", form.description.data or ""
        try:
            category = changes.add_category(name, description)
        except changes.DuplicateName as refused:
            taken = changes.taken_by(refused)
            saved = get_category(taken.category_slug) if taken is not None else None
            if saved is not None and (saved.name, saved.description) == (name, description):
                # The form sent again: the category it created is there, as it was sent.
                flash(
                    f"The category {saved.name} was already created; nothing new was saved.", "info"
                )
                return redirect(category_url(saved))
            refuse(form.name, name_taken(refused, taken))
        else:
            db.session.commit()
            flash(f"Created the category {category.name}.", "success")
            return redirect(category_url(category))
    return render_template("manage/category_form.html", form=form, category=None), _status()


@bp.route("/categories/<category_slug>/edit", methods=["GET", "POST"])
@admin_required
def edit_category(category_slug: str) -> ResponseReturnValue:
    """Rename a category or change its description (admins only)."""
    category = get_category(category_slug)
    form = CategoryForm(data={"name": category.name, "description": category.description})
    if form.validate_on_submit():
        try:
            changes.change_category(category, form.name.data or "", form.description.data or "")
        except changes.DuplicateName as refused:
            refuse(form.name, name_taken(refused, changes.taken_by(refused)))
        else:
            db.session.commit()
            flash(f"Saved the category {category.name}.", "success")
            return redirect(category_url(category))
    return render_template("manage/category_form.html", form=form, category=category), _status()


@bp.route("/categories/<category_slug>/delete", methods=["GET", "POST"])
@admin_required
def delete_category(category_slug: str) -> ResponseReturnValue:
    """Ask for confirmation, then delete an empty category (admins only)."""
    category = get_category(category_slug)
    form = ButtonForm()
    if form.validate_on_submit():
        name = category.name
        try:
            changes.remove_category(category)
        except changes.CategoryNotEmpty as refused:
            flash(str(refused), "error")
            category = get_category(category_slug)
            return render_template("manage/delete_category.html", form=form, category=category), 409
        db.session.commit()
        flash(f"Deleted the category {name}.", "success")
        return redirect(url_for("catalog.index"))
    return render_template("manage/delete_category.html", form=form, category=category)


def _status(form: ItemForm | None = None) -> int:
    """Return the status for re-showing a form: 200 when asked for, 422 after a failed POST,
    or what its refused picture calls for (413 too large, 415 not a picture)."""
    if request.method != "POST":
        return 200
    return getattr(form, "picture_status", None) or INVALID
