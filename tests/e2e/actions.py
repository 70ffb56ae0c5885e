"""What a person does in the browser, as small steps the tests share."""

import re
import secrets
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Browser, Page, expect
from support.oidc_provider import Provider

# The people who sign in during the browser tests, by their subject at the provider.
PEOPLE = {
    "owner": "Priya Venkataraman-Okonkwo",
    "other": "Tom Becker",
    "journey": "Mara Lind",
    "keyboard": "Ines Alves",
    "no-script": "Noor Haddad",
}


def unique(name: str) -> str:
    """Return ``name`` with a short random suffix, so tests never collide on a slug."""
    return f"{name} {secrets.token_hex(2)}"


def flash(page: Page):
    """Return the flashed messages' list."""
    return page.get_by_role("status")


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def sign_in(page: Page, provider: Provider, subject: str) -> None:
    """Sign in from the current page through the provider's own form, as a person would."""
    name = PEOPLE[subject]
    provider.set_user(subject, name=name, email=f"{subject}@example.org", email_verified=True)
    page.get_by_role("link", name="Sign in", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^Sign in with ")).click()
    page.locator("input[name='sub']").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    try:
        expect(flash(page)).to_contain_text(f"Signed in as {name}.")
    except AssertionError as error:
        ended = page.locator("main").inner_text() if page.locator("main").count() else ""
        raise AssertionError(f"signing in as {subject} ended at {page.url}: {ended}") from error


def fill_item(page: Page, name: str, category: str | None, description: str) -> None:
    """Fill the item form's fields (the category is left as it is when None)."""
    page.get_by_label("Name", exact=True).fill(name)
    if category is not None:
        page.get_by_label("Category", exact=True).select_option(label=category)
    page.get_by_label("Description", exact=True).fill(description)


def add_item(
    page: Page, category: str, name: str, description: str, picture: Path | None = None
) -> str:
    """Add an item through the form, with a picture file if given; return its page's URL."""
    page.goto("/catalog/new")
    fill_item(page, name, category, description)
    if picture is not None:
        page.get_by_label("Picture", exact=True).set_input_files(picture)
    page.get_by_role("button", name="Add item").click()
    expect(heading(page)).to_have_text(name)
    return page.url


def shown_picture(page: Page, selector: str = "picture.display img"):
    """Return the page's picture (``selector``) once the browser has loaded and decoded it."""
    image = page.locator(selector).first
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=image.element_handle()
    )
    return image


def camera_picture(path: Path, text: str, size=(1200, 1600)) -> Path:
    """Write a JPEG to ``path`` as a phone would: stored on its side, with EXIF saying to
    turn it, and a GPS position; upright it is ``size``, and ``text`` reads across its top."""
    image = Image.new("RGB", size, (38, 110, 72))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0], size[1] // 4), fill=(245, 240, 225))
    draw.polygon(
        [
            (size[0] // 2, size[1] // 3),
            (size[0] // 5, size[1] - 80),
            (4 * size[0] // 5, size[1] - 80),
        ],
        fill=(230, 120, 30),
    )
    draw.text((60, 60), text, font=ImageFont.load_default(size=120), fill=(30, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90° clockwise to show
    exif[0x8825] = {1: "N", 2: (46.0, 33.0, 0.0), 3: "E", 4: (7.0, 58.0, 0.0)}
    image.rotate(90, expand=True).save(path, "JPEG", quality=90, exif=exif)
    return path


class Members:
    """Browser states of signed-in people: each signs in through the provider once.

    Tests open new contexts from a saved state instead of signing in again, which
    keeps the suite fast and under the sign-in rate limit: the whole suite signs in
    five times (two limited requests each), and the limit is 10 a minute per address.
    """

    def __init__(self, browser: Browser, base_url: str, provider: Provider):
        self.browser = browser
        self.base_url = base_url
        self.provider = provider
        self._states: dict[str, dict] = {}

    def state(self, subject: str) -> dict:
        """Return the cookies of a browser in which ``subject`` has signed in."""
        if subject not in self._states:
            context = self.browser.new_context(base_url=self.base_url)
            try:
                page = context.new_page()
                page.goto("/")
                sign_in(page, self.provider, subject)
                self._states[subject] = context.storage_state()
            finally:
                context.close()
        return self._states[subject]
