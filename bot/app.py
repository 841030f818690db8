"""The Flask app factory: settings, sessions, CSRF and /healthz around the parts it is given."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Request, jsonify, request
from flask import Response as FlaskResponse
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from bot import settings as settings_module
from bot.services import Services, build_services
from bot.settings import Settings

# Providers send small requests (an SMS body is at most 1,600 characters); anything far
# larger is refused with 413 before it is read.
MAX_REQUEST_BYTES = 256 * 1024


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
        max: int | None = 2**31 - 1,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


@dataclass(frozen=True)
class WebPart:
    """A blueprint the app serves, with what else it needs from the app."""

    blueprint: Blueprint
    # True where a form post carries no CSRF token, and the part says why in its PARTS.
    csrf_exempt: bool = False
    # Called once the blueprints are registered, e.g. to install sign-in.
    setup: Callable[[Flask], None] | None = None


class _NoWebhookSessions(SecureCookieSessionInterface):
    """Cookie sessions for people's browsers; none for providers' webhooks.

    Twilio and Telegram send no cookies and must never be given one: their requests get
    Flask's null session (read-only, empty), which also saves building a cookie signer on
    every webhook.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/webhooks/"):
            return None
        return super().open_session(app, request)


def _refuse_nul() -> tuple[str, int] | None:
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


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    *,
    parts: Sequence[WebPart] = (),
) -> Flask:
    """Create the web app serving `parts`, for the given settings (from the environment if omitted).

    The parts are the webhooks' and the console's blueprints: they use bot/, so bot/ is
    given them rather than importing them (kotha.py puts the whole app together).
    """
    if services is None:
        settings = settings or settings_module.load()
        # A web process (gunicorn 'kotha:create_app()') hands replies to the queue for
        # `kotha worker`: sending inside the webhook request would hold it for the rate limit.
        services = build_services(settings, queue="inline" if settings.testing else "huey")
    app = Flask(__name__, static_folder=None)
    app.response_class = Response
    app.url_map.converters["int"] = DatabaseId
    # A public HTTPS URL, or a load balancer in front (which terminates TLS), means production.
    secure = (services.settings.public_url or "").startswith("https://") or bool(
        services.settings.proxy_count
    )
    app.config.update(
        SECRET_KEY=services.settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        TESTING=services.settings.testing,
        # Console session cookies: never readable by scripts, not sent on other sites'
        # POSTs, and Secure whenever the app is served over HTTPS. Over plain http (the
        # embedded default on 127.0.0.1, tests) a Secure cookie would never come back.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
    )
    if services.settings.proxy_count:
        # Behind a load balancer: trust its X-Forwarded-For/-Proto/-Host/-Port/-Prefix (that
        # many hops), so url_for builds https URLs and the login limiter sees real addresses.
        hops = services.settings.proxy_count
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    app.session_interface = _NoWebhookSessions()
    app.extensions["kotha"] = services

    app.before_request(_refuse_nul)
    for part in parts:
        app.register_blueprint(part.blueprint)
    for part in parts:
        if part.setup is not None:
            part.setup(app)
    # Every form carries a CSRF token, except in the parts that say why they need none.
    csrf = CSRFProtect(app)
    for part in parts:
        if part.csrf_exempt:
            csrf.exempt(part.blueprint)

    @app.get("/healthz")
    def healthz() -> Any:
        """200 when the database and the queue answer; 503 naming the part that does not."""
        report: dict[str, Any] = {"database": services.database.dialect}
        try:
            with services.database.session() as session:
                session.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any failure is the answer itself
            return jsonify(
                status="unavailable", failing="database", error=type(error).__name__
            ), 503
        if services.huey is None:
            report["queue"] = "inline"
        else:
            try:
                report["queue_pending"] = services.huey.pending_count()
            except Exception as error:  # noqa: BLE001
                return jsonify(
                    status="unavailable", failing="queue", error=type(error).__name__
                ), 503
        return jsonify(status="ok", **report)

    return app
