"""What every request and response of the web app goes through, whichever part serves it.

Security headers on every answer (HSTS when the public URL is https); text bodies that can
always be sent; ids in addresses bounded by the database's integers; no NUL in addresses,
queries or forms. `install` puts them on the app before its parts are registered.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, g, request
from flask import Response as FlaskResponse
from werkzeug.routing import IntegerConverter

from bot.settings import Settings

# The largest id the database's integer columns hold (PostgreSQL's integer).
MAX_ID = 2**31 - 1
# A lone surrogate: a code point UTF-8 cannot carry, which a JSON string ("\ud800") can.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def displayable(text: str) -> str:
    """Return text that UTF-8 can carry: each lone surrogate becomes U+FFFD (the replacement
    character), and a pair of surrogates kept apart becomes the character they make."""
    if LONE_SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class Response(FlaskResponse):
    """Flask's response, whose text bodies are always sent: what a person wrote is kept
    exactly in the database, lone surrogates included, and shown as near as UTF-8 allows."""

    def set_data(self, value: bytes | str) -> None:
        super().set_data(displayable(value) if isinstance(value, str) else value)

    def iter_encoded(self) -> Iterator[bytes]:
        # The body is read now, as Werkzeug's own does, so a wrapper of it sees the same.
        body = self.response
        return (displayable(item).encode() if isinstance(item, str) else item for item in body)


class DatabaseId(IntegerConverter):
    """`<int:…>` in every route: an id the database's integer column can hold, else no match.

    Werkzeug's own takes any number of digits, and a number past 2**31 - 1 made the query
    fail (a 500) rather than find nothing (a 404).
    """

    def __init__(
        self,
        map: Any,  # noqa: A002 - Werkzeug's name for it
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002
        max: int | None = MAX_ID,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def refuse_nul() -> tuple[str, int] | None:
    """Refuse a NUL byte in the address, the query or a form (400): no page asks for one,
    and PostgreSQL refuses it in any text, so it would fail a query (500) further on.

    Providers' webhooks are left to read theirs: what a person sent is kept as sent.
    """
    if request.path.startswith("/webhooks/"):
        return None
    fields = [*request.args.lists(), *(request.form.lists() if request.method == "POST" else ())]
    values = [request.path, *(text for key, items in fields for text in (key, *items))]
    if any("\x00" in value for value in values):
        return "Bad request: the address or form holds a NUL character.", 400
    return None


def csp_nonce() -> str:
    """This request's nonce for the pages' own inline scripts (made on first use)."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


# Pages load only their own scripts, styles, fonts and images (GOV.UK Frontend's are served
# from /console/static); the inline scripts (GOV.UK Frontend's js-enabled class and the
# module that starts its components) carry this request's nonce. A message that slipped
# past escaping still could not run. A part may send a stricter policy of its own (the
# simulator allows no script at all).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Older browsers read this where they do not know frame-ancestors.
    "X-Frame-Options": "DENY",
    # Addresses can carry a person's calendar token: never tell another site.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# A year, as browsers' preload lists ask; not includeSubDomains: the council's other
# sites under the same domain are not ours to promise for.
HSTS = "max-age=31536000"


def security_headers(settings: Settings) -> Callable[[FlaskResponse], FlaskResponse]:
    """The after-request function that puts the security headers on every response."""
    https = (settings.public_url or "").startswith("https://")

    def add(response: FlaskResponse) -> FlaskResponse:
        headers = response.headers
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        headers.setdefault(
            "Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=csp_nonce())
        )
        if https:
            headers["Strict-Transport-Security"] = HSTS
        return response

    return add


def install(app: Flask, settings: Settings) -> None:
    """Put the guards on the app (before its blueprints: the id converter applies to them)."""
    app.response_class = Response
    app.url_map.converters["int"] = DatabaseId
    app.before_request(refuse_nul)
    app.after_request(security_headers(settings))
