"""Read forms out of pages and fill them in the way a browser would."""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

CSRF_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._option_selected = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(Form(attrs.get("action") or "", (attrs.get("method") or "get")))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind == "submit":
                form.buttons.append((name, attrs.get("value", "")))
                return
            form.fields[name] = attrs.get("value", "")
        elif tag == "button" and name:
            form.buttons.append((name, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields[name] = ""
        elif tag == "select" and name:
            self._select, self._first_option, self._option_selected = name, None, False
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in attrs:
                form.fields[self._select] = value
                self._option_selected = True

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            form = self.forms[-1]
            # Browsers read line breaks as LF, drop one right after <textarea>,
            # and send the rest as CRLF.
            text = form.fields[self._textarea].replace("\r\n", "\n").replace("\r", "\n")
            text = text[1:] if text.startswith("\n") else text
            form.fields[self._textarea] = text.replace("\n", "\r\n")
            self._textarea = None
        elif tag == "select" and self._select:
            if not self._option_selected and self._first_option is not None:
                self.forms[-1].fields[self._select] = self._first_option
            self._select = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1].fields[self._textarea] += data


def forms_in(page: str) -> list[Form]:
    """Return every form in ``page`` with the values a browser would submit."""
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


def form_posting_to(page: str, action: str) -> Form:
    """Return the form in ``page`` that posts to ``action`` (an empty action is the page)."""
    for form in forms_in(page):
        if form.method.lower() == "post" and form.action in (action, ""):
            return form
    raise AssertionError(f"no form posting to {action!r} in the page")


def csrf_token(page: str) -> str | None:
    """Return the first CSRF token in ``page``, or None when CSRF is off."""
    match = CSRF_TOKEN.search(page)
    return match.group(1) if match else None


def submit(client, url: str, changes: dict | None = None, action: str | None = None):
    """Load ``url``, fill its POST form with ``changes`` and submit it, as a browser does.

    Returns ``(page response, submit response)``; the second is None when the
    page could not be loaded (a redirect or an error).
    """
    page = client.get(url)
    if page.status_code != 200:
        return page, None
    form = form_posting_to(page.get_data(as_text=True), action or url)
    data = {**form.fields, **(changes or {})}
    return page, client.post(form.action or url, data=data)
