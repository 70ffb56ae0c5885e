"""The catalog with the keyboard alone: Tab reaches every control, Enter uses it."""

import pytest
from playwright.sync_api import Page, expect
from support.oidc_provider import QUIET_PROVIDER

from e2e.actions import PEOPLE, flash, heading, unique

# One pytest-xdist worker runs all the browser tests: the server and the browser start once.
pytestmark = [QUIET_PROVIDER, pytest.mark.slow, pytest.mark.xdist_group("browser")]

# What a person hears for the focused element: its tag, its label or text, and whether
# the page draws a focus ring around it.
FOCUSED = """() => {
  const el = document.activeElement;
  const label = el.labels && el.labels.length ? el.labels[0].innerText : null;
  return {
    tag: el.tagName.toLowerCase(),
    name: (label || el.innerText || el.value || '').trim(),
    outline: getComputedStyle(el).outlineStyle,
  };
}"""
MOST_TABS = 40


def tab_to(page: Page, tag: str, name: str) -> None:
    """Press Tab until a ``tag`` named ``name`` has focus, with a visible focus ring."""
    stops = []
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        stops.append(f"{focused['tag']} {focused['name']!r}")
        if (focused["tag"], focused["name"]) == (tag, name):
            assert focused["outline"] != "none", f"{tag} {name!r} has focus but no focus ring"
            return
    pytest.fail(f"Tab never reached {tag} {name!r}; it went through {stops}")


def test_keyboard_alone_signs_in_searches_adds_edits_and_deletes(page, live_server, oidc_provider):
    subject = "keyboard"
    oidc_provider.set_user(
        subject, name=PEOPLE[subject], email=f"{subject}@example.org", email_verified=True
    )
    page.goto("/catalog/hockey/")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "Skip to content"

    tab_to(page, "a", "Sign in")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Sign in")
    tab_to(page, "a", "Sign in with localhost")
    page.keyboard.press("Enter")
    # The provider's page puts the cursor in its one field; Enter sends the form.
    # Type only once the field has the cursor: keys pressed before autofocus lands are lost,
    # and the provider would sign in a stranger.
    expect(page.locator("input[name='sub']")).to_be_focused()
    page.keyboard.type(subject)
    expect(page.locator("input[name='sub']")).to_have_value(subject)
    page.keyboard.press("Enter")
    expect(flash(page)).to_contain_text(f"Signed in as {PEOPLE[subject]}.")
    assert page.url == f"{live_server}/catalog/hockey/"

    tab_to(page, "input", "Search items")
    page.keyboard.type("pucks")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Pucks", exact=True)).to_be_visible()

    tab_to(page, "a", "Add item")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text("Add an item")
    name = unique("Goalie Mask")
    tab_to(page, "input", "Name")
    page.keyboard.type(name)
    tab_to(page, "select", "Category")
    page.keyboard.type("Hockey")
    expect(page.get_by_label("Category", exact=True).locator("option:checked")).to_have_text(
        "Hockey"
    )
    tab_to(page, "textarea", "Description")
    page.keyboard.type("Fibreglass shell with a steel cage.")
    tab_to(page, "button", "Add item")
    page.keyboard.press("Enter")
    expect(flash(page)).to_have_text(f"Added “{name}” to Hockey.")

    tab_to(page, "a", "Edit")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text(f"Edit {name}")
    tab_to(page, "input", "Name")
    page.keyboard.press("End")
    page.keyboard.type(" Pro")
    tab_to(page, "button", "Save changes")
    page.keyboard.press("Enter")
    expect(flash(page)).to_have_text(f"Saved your changes to “{name} Pro”.")

    tab_to(page, "a", "Delete")
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text(f"Delete {name} Pro?")
    tab_to(page, "button", "Delete item")
    page.keyboard.press("Enter")
    expect(flash(page)).to_have_text(f"Deleted “{name} Pro”.")
    expect(heading(page)).to_have_text("Hockey")
