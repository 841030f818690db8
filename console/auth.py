"""Console sign-in: accounts for Flask-Login, a role check on every page, a rate-limited login."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import HTTPException, InternalServerError

from bot.casework.accounts import ROLES, authenticate, end_sessions, normalise_email, record_audit
from bot.services import services
from bot.web_guards import csp_nonce
from console.navigation import NAVIGATION
from console.paging import number_in
from console.wording import people, text_lang
from storage.models import User

log = logging.getLogger(__name__)

blueprint = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    # `make setup` copies govuk-frontend's dist/govuk/ here; pages render without it.
    static_folder="static",
    static_url_path="/static",
)

login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = None

# Guessing passwords. Only wrong passwords count, and the limits that refuse are those of
# the address they come from, so nobody elsewhere can lock a person out by guessing wrong
# for their email: five wrong a minute for one account from one address; twenty a minute
# from one address for any accounts (more, because a council office signs in from behind
# one address). Guesses at one account from many addresses are slowed, never refused: past
# fifty wrong in an hour, each attempt at that account waits a second before its answer,
# the right password too, which then signs in as always.
FAILURES_PER_ADDRESS_AND_EMAIL = parse("5/minute")
FAILURES_PER_ADDRESS = parse("20/minute")
FAILURES_PER_EMAIL_BEFORE_SLOWING = parse("50/hour")
SLOW_DOWN_SECONDS = 1.0
BAD_CREDENTIALS = "Enter a correct email address and password"

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in account as Flask-Login sees it: no database session attached."""

    id: int
    email: str
    role: str

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


# The session's copy of its account's session_epoch at sign-in (storage/models.py User).
EPOCH = "kotha_epoch"


def _load_user(user_id: str) -> ConsoleUser | None:
    """The account a session signed in as, while that sign-in still holds.

    A session cookie is signed but kept by the browser, so a copy of it would outlive
    signing out. Each session carries the account's session_epoch from when it signed
    in; signing out, a new password, a new role or disabling raises the account's, and
    every session carrying an older one is no longer signed in.
    """
    number = number_in(user_id)
    if number is None:
        return None
    with services().database.session() as db:
        user = db.get(User, number)
        if user is None or not user.active or session.get(EPOCH) != user.session_epoch:
            return None
        return ConsoleUser(user.id, user.email, user.role)


login_manager.user_loader(_load_user)


class LoginLimiter:
    """Counts wrong passwords by address, by address and email, and by email (in memory or
    shared in Redis), and says whether an attempt may go ahead and whether it waits first."""

    def __init__(self, redis_url: str | None, sleep: Callable[[float], None] | None = None) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(redis_url or "memory://"))
        self._sleep = sleep or time.sleep

    def _counts(self, email: str, address: str) -> tuple[tuple[RateLimitItem, str], ...]:
        return (
            (FAILURES_PER_ADDRESS_AND_EMAIL, f"pair:{address} {email}"),
            (FAILURES_PER_ADDRESS, f"address:{address}"),
            (FAILURES_PER_EMAIL_BEFORE_SLOWING, f"email:{email}"),
        )

    def allow(self, email: str, address: str) -> bool:
        """Say whether this address may try now; first wait, if this account is under attack."""
        by_pair, by_address, by_email = self._counts(email, address)
        if not all(
            self._limiter.test(limit, "kotha-login", key) for limit, key in (by_pair, by_address)
        ):
            return False
        limit, key = by_email
        if not self._limiter.test(limit, "kotha-login", key):
            self._sleep(SLOW_DOWN_SECONDS)
        return True

    def failed(self, email: str, address: str) -> None:
        """Count a wrong password (or an unknown email) against all three."""
        for limit, key in self._counts(email, address):
            self._limiter.hit(limit, "kotha-login", key)


def init_app(app: Flask) -> None:
    """Give the app the console's sign-in, its rate limiter and the GOV.UK Frontend macros."""
    login_manager.init_app(app)
    redis_url = app.extensions["kotha"].settings.redis_url
    app.extensions["kotha_login_limiter"] = LoginLimiter(redis_url)
    app.jinja_loader = ChoiceLoader(
        [PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})]
    )


def role_required(*roles: str) -> Callable[[View], View]:
    """Let only signed-in accounts with one of these roles see the view; others get 403."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"roles must be some of {ROLES}, not {roles}")

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        checked.allowed_roles = roles  # type: ignore[attr-defined]
        return cast(View, checked)

    return decorate


def _safe_next(target: str | None) -> str:
    """Return a console path (or the simulator) to go to after signing in, never another site."""
    parts = urlsplit(target or "")
    ours = parts.path.startswith("/console/") or parts.path == "/simulator"
    if parts.scheme or parts.netloc or not ours:
        return url_for("console.home")
    return parts.path + (f"?{parts.query}" if parts.query else "")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with an email address and password (the only console page open to everyone)."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("console.home"))
        return render_template("console/login.html", errors={}, email="")
    email = normalise_email(request.form.get("email", ""))
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return render_template("console/login.html", errors=errors, email=email), 400
    now = services().clock()
    limiter: LoginLimiter = current_app.extensions["kotha_login_limiter"]
    address = request.remote_addr or "unknown"
    # Before the transaction: a slowed attempt holds no database connection while it waits.
    allowed = limiter.allow(email, address)
    with services().database.session() as db:
        if not allowed:
            record_audit(db, None, "login.rate_limited", "user", None, {"email": email}, now=now)
            return _error_page(429)
        user = authenticate(db, email, password, now)
        if user is None:
            limiter.failed(email, address)
            record_audit(db, None, "login.failed", "user", None, {"email": email}, now=now)
            signed_in = None
        else:
            record_audit(db, user.id, "login.succeeded", "user", user.id, now=now)
            signed_in = ConsoleUser(user.id, user.email, user.role)
            epoch = user.session_epoch
    if signed_in is None:
        errors = {"email": BAD_CREDENTIALS}
        return render_template("console/login.html", errors=errors, email=email), 401
    # A new session on sign-in: nothing from before (a planted token, say) carries over.
    session.clear()
    session[EPOCH] = epoch
    login_user(signed_in)
    return redirect(_safe_next(request.args.get("next")))


@blueprint.post("/logout")
@role_required(*ROLES)
def logout() -> Any:
    """Sign out (a POST with the form's token, so another site cannot sign anyone out).

    Every session of the account ends, on this browser and any other: a cookie session
    cannot be ended alone, and a copy of this one must stop working.
    """
    with services().database.session() as db:
        end_sessions(db.get_one(User, current_user.id))
        record_audit(db, current_user.id, "logout", "user", current_user.id, now=services().clock())
    logout_user()
    session.clear()
    return redirect(url_for("console.login"))


ERRORS = {
    400: ("Sorry, there is a problem with the page", "Go back, reload the page and try again."),
    403: ("You do not have access to this page", "Your account's role does not include it."),
    404: ("Page not found", "Check the address is right."),
    405: ("Page not found", "Check the address is right, or start again from the home page."),
    429: (
        "Too many attempts to sign in",
        "Wait a minute, then try again. If you have forgotten your password, ask an admin.",
    ),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. What you were doing may not have been saved. If it keeps "
        "happening, tell the Kotha team the time and the page's address.",
    ),
}
# Said when even the console's page cannot be drawn (the database gone, say).
PLAIN_500 = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sorry, there is a '
    "problem with the service – Kotha console</title></head><body><h1>Sorry, there is a "
    "problem with the service</h1><p>Try again later.</p></body></html>"
)


def _error_page(code: int) -> tuple[str, int]:
    title, advice = ERRORS[code]
    return render_template("console/error.html", title=title, advice=advice), code


def _console_path() -> bool:
    return request.path == "/console" or request.path.startswith("/console/")


@blueprint.errorhandler(403)
def _forbidden(_error: Exception) -> tuple[str, int]:
    return _error_page(403)


# App-wide, so that addresses no route matches get the console's page too: only console
# addresses do; anyone else's keep the framework's answer.
@blueprint.app_errorhandler(404)
@blueprint.app_errorhandler(405)
def _not_found(error: HTTPException) -> ResponseReturnValue:
    if not _console_path() or error.code is None:
        return error
    response = make_response(_error_page(error.code))
    if error.code == 405:
        response.headers["Allow"] = error.get_response().headers.get("Allow", "")
    return response


@blueprint.app_errorhandler(InternalServerError)
def _server_error(error: InternalServerError) -> ResponseReturnValue:
    # Flask has logged the exception already; nothing of it is shown.
    if not _console_path():
        return error
    try:
        return _error_page(500)
    except Exception:
        log.exception("the console's error page failed too")
        return PLAIN_500, 500


@blueprint.errorhandler(CSRFError)
def _csrf_failed(_error: Exception) -> tuple[str, int]:
    return _error_page(400)


@blueprint.app_context_processor
def _console_context() -> dict[str, Any]:
    # cspNonce: the name GOV.UK Frontend's page template gives its inline script's nonce.
    # text_lang: the lang attribute of anything a person wrote, so it is read and drawn right.
    # people: "1 person", "2 people".
    return {
        "roles_can_see": can_open,
        "navigation": NAVIGATION,
        "cspNonce": csp_nonce(),
        "text_lang": text_lang,
        "people": people,
    }


def can_open(endpoint: str) -> bool:
    """Say whether the signed-in account may open this console page (for links to it)."""
    view = current_app.view_functions.get(endpoint)
    allowed: tuple[str, ...] = getattr(view, "allowed_roles", ())
    return bool(current_user.is_authenticated and current_user.role in allowed)
