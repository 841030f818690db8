"""The Flask app factory: one app with the webhook, console and simulator blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import settings as settings_module
from bot.services import Services, build_services
from bot.settings import Settings

# Providers send small requests (an SMS body is at most 1,600 characters); anything far
# larger is refused with 413 before it is read.
MAX_REQUEST_BYTES = 256 * 1024


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


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Create the web app for the given settings (read from the environment when omitted)."""
    if services is None:
        settings = settings or settings_module.load()
        # A web process (gunicorn 'bot.app:create_app()') hands replies to the queue for
        # `kotha worker`: sending inside the webhook request would hold it for the rate limit.
        services = build_services(settings, queue="inline" if settings.testing else "huey")
    app = Flask(__name__, static_folder=None)
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

    from console import auth
    from console import broadcasts as _broadcasts  # noqa: F401 - registers its routes
    from console import calendar as _calendar  # registers its console routes
    from console import cases as _cases  # noqa: F401 - registers its routes
    from console import conversations as _conversations  # noqa: F401 - registers its routes
    from console import moderation as _moderation  # noqa: F401 - registers its routes
    from console import yousaid as _yousaid  # registers its console routes
    from console.simulator import blueprint as simulator
    from console.views import blueprint as console
    from webhooks.telegram import blueprint as telegram
    from webhooks.twilio import blueprint as twilio

    app.register_blueprint(twilio)
    app.register_blueprint(telegram)
    app.register_blueprint(simulator)
    app.register_blueprint(_calendar.public)  # /events and its iCalendar feeds: no sign-in
    app.register_blueprint(_yousaid.public)  # /you-said-we-did: no sign-in
    app.register_blueprint(console)
    auth.init_app(app)
    # Every form carries a CSRF token, except where providers post (they sign their
    # requests instead) and the simulator, which only ever talks to simulated phones.
    csrf = CSRFProtect(app)
    for exempt in (twilio, telegram, simulator):
        csrf.exempt(exempt)

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
