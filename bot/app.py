"""The Flask app factory: settings, sessions, CSRF and /healthz around the parts it is given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Request, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import settings as settings_module
from bot import web_guards
from bot.services import Services, build_services
from bot.settings import Settings

# Providers send small requests (an SMS body is at most 1,600 characters); anything far
# larger is refused with 413 before it is read.
MAX_REQUEST_BYTES = 256 * 1024


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
    # Before any blueprint: the guards change how routes read ids (bot/web_guards.py).
    web_guards.install(app, services.settings)
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
