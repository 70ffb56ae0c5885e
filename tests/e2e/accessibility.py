"""Checks that a page can be used by everyone: axe-core's rules, labels, no sideways scrolling."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

# axe-core ships inside axe_playwright_python and is injected into the page: no network.
AXE = Axe()
BLOCKING = ("serious", "critical")


def axe_violations(page: Page) -> list[str]:
    """Return axe-core's serious and critical findings on the page, one line per element."""
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(map(str, node['target']))}"
        for v in found
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


def unlabelled_fields(page: Page) -> list[str]:
    """Return the form fields that no <label> names (hidden inputs aside)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(field => field.type !== 'hidden' && field.labels.length === 0)
            .map(field => field.outerHTML)"""
    )


def sideways_overflow(page: Page) -> int:
    """Return by how many CSS pixels the page is wider than the screen (0 when it fits).

    A phone's browser widens its layout viewport (``innerWidth``) to a page that overflows,
    so the page is measured against the screen's width too.
    """
    return page.evaluate(
        """() => Math.max(0, document.documentElement.scrollWidth
                             - Math.min(window.innerWidth, screen.width))"""
    )
