"""The console's parts of the web app: staff pages, public pages and the simulator."""

from __future__ import annotations

from bot.app import WebPart

# Each of these modules adds its routes to the console blueprint (views.blueprint) as it is
# imported.
from console import attendance as _attendance  # noqa: F401
from console import auth, calendar, privacy, simulator, simulator_call, views, yousaid
from console import broadcasts as _broadcasts  # noqa: F401
from console import cases as _cases  # noqa: F401
from console import conversations as _conversations  # noqa: F401
from console import detector as _detector  # noqa: F401
from console import impact as _impact  # noqa: F401
from console import involvement as _involvement  # noqa: F401
from console import media as _media  # noqa: F401
from console import moderation as _moderation  # noqa: F401
from console import onbehalf as _onbehalf  # noqa: F401
from console import opportunities as _opportunities  # noqa: F401
from console import people as _people  # noqa: F401
from console import tasks as _tasks  # noqa: F401
from console import translations as _translations  # noqa: F401
from console import voiceprompts as _voiceprompts  # noqa: F401

PARTS = (
    # The simulator only ever talks to simulated phones. Its form carries a CSRF token like
    # the console's: behind sign-in a session is what it trusts, and even open, another
    # site must not be able to post into it.
    WebPart(simulator.blueprint, setup=simulator_call.init_app),
    WebPart(calendar.public),  # /events and its iCalendar feeds: no sign-in
    WebPart(yousaid.public),  # /you-said-we-did: no sign-in
    WebPart(privacy.public),  # /privacy: no sign-in
    WebPart(views.blueprint, setup=auth.init_app),
)
