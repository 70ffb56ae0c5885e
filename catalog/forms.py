"""Flask-WTF forms for the HTML pages; each one carries a CSRF token.

Validators here check what a form alone can know (required, lengths, characters,
a category from the list); the database's unique constraints speak through
``catalog.changes`` and the view puts their message next to the field.
"""

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice: new in WTForms 3.3
    BooleanField,
    Field,
    Form,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import HiddenInput

from catalog import demo
from catalog.images.processing import Picture, Refused, process
from catalog.models import (
    CATEGORY_DESCRIPTION_MAX,
    DESCRIPTION_MAX,
    ID_MAX,
    IMAGE_ALT_MAX,
    NAME_MAX,
    TOKEN_LABEL_MAX,
    Category,
)
from catalog.text import (
    has_controls,
    has_text_controls,
    invisible_message,
    is_blank,
    is_one_line,
    nfc,
)
from catalog.web import uploads


def strip(value: object) -> object:
    """Drop surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


def composed(value: object) -> object:
    """Keep a name in Unicode's composed form (NFC), as catalog.text keeps names."""
    return nfc(value) if isinstance(value, str) else value


def unix_newlines(value: object) -> object:
    """Turn the CRLF line breaks browsers send into LF, so limits count what people typed."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def printable(form: Form | None, field: Field) -> None:
    """Refuse control characters other than tabs and line breaks (catalog.text)."""
    if has_text_controls(field.data or ""):
        raise ValidationError("Remove the control characters from this text.")


def single_line(form: Form | None, field: Field) -> None:
    """Refuse line breaks and tabs in a one-line field such as a name."""
    if not is_one_line(field.data or ""):
        raise ValidationError("Keep this on one line.")


def visible_name(form: Form | None, field: Field) -> None:
    """Refuse a name that holds invisible or direction-changing characters, or shows nothing."""
    message = invisible_message(field.data or "")
    if message is not None:
        raise ValidationError(message)
    if is_blank(field.data or ""):
        raise ValidationError("Give a name that shows something, not only spaces or joiners.")


def record_id(value: object) -> int | None:
    """Coerce a submitted id to an int the database can hold, or None when it is not one.

    Anything larger than ``ID_MAX`` is not a category's id either.
    """
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or int(text) > ID_MAX:
        return None
    return int(text)


class ButtonForm(FlaskForm):
    """An empty form: the CSRF token for a button that changes data."""


class DevLoginForm(FlaskForm):
    """Pick a demo user to sign in as (debug and testing only)."""

    subject = SelectField(
        "Demo user",
        choices=[SelectChoice(u["subject"], u["name"]) for u in demo.USERS],
        validators=[DataRequired()],
    )
    next = HiddenField()


class ItemForm(FlaskForm):
    """Name, category, description and picture of an item.

    The picture is checked and resized while the form is validated, before anything
    is written: ``picture_upload`` then holds it, ready to store.
    """

    name = StringField(
        "Name",
        filters=[strip, composed],
        validators=[
            DataRequired("Give the item a name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
            single_line,
            printable,
            visible_name,
        ],
    )
    category = SelectField("Category", coerce=record_id, validate_choice=False)
    description = TextAreaField(
        "Description",
        filters=[unix_newlines],
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=f"Keep the description to {DESCRIPTION_MAX} characters or fewer.",
            ),
            printable,
        ],
    )

    picture = FileField("Picture")
    image_alt = StringField(
        "Describe the picture",
        filters=[strip],
        validators=[
            Length(
                max=IMAGE_ALT_MAX,
                message=f"Keep the description to {IMAGE_ALT_MAX} characters or fewer.",
            ),
            single_line,
            printable,
        ],
    )

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._categories = {c.id: c for c in categories}
        self.category.choices = [SelectChoice(c.id, c.name) for c in categories]
        self.picture_upload: Picture | None = None
        # The status a refused picture calls for: 413, 415 or 422.
        self.picture_status: int | None = None

    def validate_category(self, field: Field) -> None:
        if field.data not in self._categories:
            raise ValidationError("Choose one of the categories in the list.")

    def validate_picture(self, field: FileField) -> None:
        if not field.data:
            return
        try:
            self.picture_upload = process(
                uploads.read(field.data.stream),
                max_bytes=uploads.max_bytes(),
                max_pixels=uploads.max_pixels(),
            )
        except Refused as refused:
            self.picture_status = refused.status
            raise ValidationError(str(refused)) from None

    @property
    def picture_sent(self) -> bool:
        """Tell whether a file was chosen for the picture (accepted or not)."""
        return bool(self.picture.data)

    @property
    def chosen_category(self) -> Category:
        """Return the category picked in a validated form."""
        return self._categories[self.category.data]


def refuse(field: Field, message: str) -> None:
    """Show ``message`` under ``field``, as a validator's message is shown."""
    field.errors = [*field.errors, message]


class EditItemForm(ItemForm):
    """The item form plus the version it was read at, so a stale save is refused, and
    the choice to remove the picture."""

    version = IntegerField(
        widget=HiddenInput(),
        validators=[InputRequired("This form is incomplete; reload the page and try again.")],
    )
    remove_picture = BooleanField("Remove the picture")

    def validate_remove_picture(self, field: BooleanField) -> None:
        if field.data and self.picture_sent:
            raise ValidationError("Choose a new picture or remove the picture, not both.")


class DeleteItemForm(FlaskForm):
    """Confirm deleting an item, at the version the person saw."""

    version = IntegerField(
        widget=HiddenInput(),
        validators=[InputRequired("This form is incomplete; reload the page and try again.")],
    )


class CategoryForm(FlaskForm):
    """Name and description of a category."""

    name = StringField(
        "Name",
        filters=[strip, composed],
        validators=[
            DataRequired("Give the category a name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
            single_line,
            printable,
            visible_name,
        ],
    )
    description = TextAreaField(
        "Description",
        filters=[unix_newlines],
        validators=[
            Length(
                max=CATEGORY_DESCRIPTION_MAX,
                message=(
                    f"Keep the description to {CATEGORY_DESCRIPTION_MAX} characters or fewer."
                ),
            ),
            printable,
        ],
    )


class TokenForm(FlaskForm):
    """Name a new API token after what will use it."""

    label = StringField(
        "Label",
        filters=[strip],
        validators=[DataRequired("Give the token a label."), Length(max=TOKEN_LABEL_MAX)],
    )

    def validate_label(self, field: Field) -> None:
        if has_controls(field.data):
            raise ValidationError("Keep the label on one line, without control characters.")
