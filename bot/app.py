"""The Flask app factory: settings, sessions, CSRF and /healthz around the parts it is given."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Request, Response, abort, g, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import logs, metrics, web_guards
from bot import settings as settings_module
from bot.services import Services, build_services
from bot.settings import Settings

# Providers send small requests (an SMS body is at most 1,600 characters); anything far
# larger is refused with 413 before it is read.
MAX_REQUEST_BYTES = 256 * 1024
REQUEST_ID_HEADER = "X-Request-Id"

log = logging.getLogger(__name__)


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
        logs.configure(settings)
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

    _trace_requests(app)
    _serve_metrics(app, services)

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


def _trace_requests(app: Flask) -> None:
    """Give each request an id for its log lines; time webhooks, and log and count refusals."""

    @app.before_request
    def start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        chosen = given if logs.GIVEN_ID.fullmatch(given) else logs.new_id()
        g.kotha_request_id = chosen
        g.kotha_request_token = logs.REQUEST_ID.set(chosen)
        g.kotha_started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("kotha_request_id", "-")
        if request.path.startswith("/webhooks/"):
            route = request.url_rule.rule if request.url_rule is not None else "unknown"
            started = g.get("kotha_started")
            if started is not None:
                metrics.WEBHOOK_SECONDS.labels(route).observe(time.perf_counter() - started)
            if response.status_code >= 400:
                # The webhooks answer a refusal with its reason in a line of plain text,
                # their own words; anything else is named by its status alone.
                reason = ""
                if response.mimetype == "text/plain" and not response.is_streamed:
                    reason = logs.clip(response.get_data(as_text=True).strip(), 60)
                metrics.WEBHOOK_REFUSALS.labels(route, str(response.status_code), reason).inc()
                log.warning(
                    "%s %s refused with %d: %s",
                    request.method,
                    route,
                    response.status_code,
                    reason or "-",
                )
        return response

    @app.teardown_request
    def end(error: BaseException | None) -> None:
        token = g.pop("kotha_request_token", None)
        if token is not None:
            logs.REQUEST_ID.reset(token)


def _serve_metrics(app: Flask, services: Services) -> None:
    """GET /metrics for Prometheus: 404 unless KOTHA_METRICS_TOKEN is set, then bearer only."""
    huey = services.huey
    stored = metrics.StoredCounts(
        services.database, (lambda: int(huey.pending_count())) if huey is not None else lambda: None
    )

    @app.get("/metrics")
    def serve_metrics() -> Response:
        token = services.settings.metrics_token
        if not token:
            abort(404)
        if not metrics.bearer_matches(request.headers.get("Authorization"), token):
            log.warning("GET /metrics refused: missing or wrong bearer token")
            return Response(
                "bearer token required\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(
            metrics.exposition(services.settings, stored), content_type=metrics.CONTENT_TYPE
        )
