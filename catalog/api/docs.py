"""The API reference for people: an HTML page rendered from the OpenAPI document.

It is made on the server from the same document programs read, with no
script and nothing fetched from elsewhere, so it works offline and under a
strict Content Security Policy. The document's descriptions are CommonMark (as
OpenAPI says), rendered here with markdown-it-py with raw HTML turned off: a
description can hold code and links, never markup of its own.
"""

from typing import Any

from flask import Blueprint, current_app, render_template
from markdown_it import MarkdownIt
from markupsafe import Markup

bp = Blueprint("api_docs", __name__)

API_EXTENSION = "catalog.api"
METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document() -> dict[str, Any]:
    """Return the current app's OpenAPI document."""
    document: dict[str, Any] = current_app.extensions[API_EXTENSION].spec.to_dict()
    return document


# "commonmark" with html off: any tag in a description is shown as text, and links to
# javascript:, vbscript: or file: URLs are not made (markdown-it's validateLink).
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown(text: str | None) -> Markup:
    """Render a description's CommonMark as HTML paragraphs, raw HTML escaped."""
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704 - markdown-it escapes the text


def markdown_inline(text: str | None) -> Markup:
    """Render a short description (a summary, a table cell) as inline HTML, no paragraph."""
    return Markup(_MARKDOWN.renderInline(text or ""))  # noqa: S704 - markdown-it escapes it


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_label(schema: dict[str, Any] | None) -> str:
    """Describe a JSON Schema in a few words: ``string (date-time)``, ``array of Item``."""
    if not schema:
        return ""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {type_label(schema.get('items'))}"
    if "format" in schema:
        kind = f"{kind} ({schema['format']})"
    return str(kind)


def _characters(count: object) -> str:
    return f"{count} character{'' if count == 1 else 's'}"


def constraints(schema: dict[str, Any]) -> str:
    """List a schema's limits: lengths, ranges, default."""
    words = []
    for key, label in (
        ("minLength", "at least {}"),
        ("maxLength", "at most {}"),
        ("minimum", "from {}"),
        ("maximum", "up to {}"),
        ("default", "default {}"),
    ):
        if key in schema and schema[key] != "":
            value = schema[key]
            words.append(label.format(_characters(value) if key.endswith("Length") else value))
    return ", ".join(words)


def _resolve(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in item:
        section, name = item["$ref"].split("/")[-2:]
        resolved: dict[str, Any] = document["components"][section][name]
        return resolved
    return item


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the document's operations, path by path, ready for the template."""
    found = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            request_body = operation.get("requestBody", {})
            body = request_body.get("content", {})
            responses = []
            for status, response in operation.get("responses", {}).items():
                response = _resolve(document, response)
                content = response.get("content", {})
                media = next(iter(content), None)
                responses.append(
                    {
                        "status": status,
                        "description": response.get("description", ""),
                        "media": media,
                        "schema": type_label(content[media].get("schema")) if media else "",
                        "headers": sorted(response.get("headers", {})),
                    }
                )
            found.append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "secured": bool(operation.get("security")),
                    "parameters": [_resolve(document, p) for p in operation.get("parameters", [])],
                    "body": [
                        {
                            "media": media,
                            "schema": type_label(spec.get("schema")),
                            "linked": "$ref" in (spec.get("schema") or {}),
                        }
                        for media, spec in body.items()
                    ],
                    "body_description": request_body.get("description", ""),
                    "responses": sorted(responses, key=lambda r: r["status"]),
                }
            )
    return found


@bp.get("/api/v1/docs")
def docs() -> str:
    """Show the API reference, made from the OpenAPI document."""
    document = openapi_document()
    return render_template(
        "api/docs.html",
        document=document,
        operations=operations(document),
        schemas=document.get("components", {}).get("schemas", {}),
        type_label=type_label,
        constraints=constraints,
        markdown=markdown,
        markdown_inline=markdown_inline,
    )
