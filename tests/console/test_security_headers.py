"""Security headers on every response of every route, public pages and /healthz included;
HSTS when KOTHA_PUBLIC_URL is https; addresses built from KOTHA_PUBLIC_URL, never the Host."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from werkzeug.test import TestResponse

from bot.services import Services, build_services
from bot.web_guards import HSTS
from kotha import create_app
from tests.console.test_access import (
    EXAMPLE_PATHS,
    _quick_hashes,  # noqa: F401 - quick argon2 here too
    app_with_records,
    sign_in,
)

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SCRIPT = re.compile(r"<script\b[^>]*>")
NONCE = re.compile(r"'nonce-([^']+)'")


@pytest.fixture
def app(services: Services) -> Flask:
    return app_with_records(services)


def check(response: TestResponse, where: str) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, f"{name} on {where}"
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert "object-src 'none'" in policy or "default-src 'none'" in policy, where
    assert "unsafe-eval" not in policy and "script-src 'unsafe-inline'" not in policy, where
    # Every script a page carries is one the policy lets run: its own file or this nonce.
    if response.mimetype == "text/html":
        nonce = NONCE.search(policy)
        for tag in SCRIPT.findall(response.get_data(as_text=True)):
            if 'src="/' in tag and "script-src 'self'" in policy:
                continue
            assert nonce is not None and f'nonce="{nonce.group(1)}"' in tag, f"{tag} on {where}"
    assert "Strict-Transport-Security" not in response.headers, where  # http here


def every_route(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        path = EXAMPLE_PATHS.get(rule.endpoint, rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


@pytest.mark.parametrize("who", [None, "admin"])
def test_every_route_answers_with_the_headers(app: Flask, who: str | None) -> None:
    client = app.test_client()
    if who:
        assert sign_in(client, f"{who}@example.org") == 302
    routes = every_route(app)
    assert ("GET", "/healthz") in routes and ("GET", "/events") in routes
    for method, path in routes:
        if path == "/console/logout":
            continue
        response = client.open(path, method=method)
        response.get_data()
        response.close()
        check(response, f"{method} {path} ({response.status_code}) as {who or 'nobody'}")
    # Answers no route gives: not found, wrong method, refused.
    for method, path in (("GET", "/no-such-page"), ("POST", "/healthz"), ("GET", "/%00")):
        check(client.open(path, method=method), f"{method} {path}")


def test_the_public_pages_run_govuk_frontends_script_under_the_policy(client: FlaskClient) -> None:
    for path in ("/events", "/you-said-we-did", "/console/login"):
        page = client.get(path)
        assert page.status_code == 200
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in policy and "style-src 'self'" in policy
        scripts = SCRIPT.findall(page.text)
        assert scripts, path  # GOV.UK Frontend's js-enabled script, with the nonce
        check(page, path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_hsts_when_the_public_address_is_https(services: Services) -> None:
    for public_url, hsts in (("https://kotha.example", HSTS), ("http://kotha.example", None)):
        settings = services.settings.with_overrides(public_url=public_url)
        app = create_app(services=build_services(settings, database=services.database))
        client = app.test_client()
        for path in ("/healthz", "/events", "/console/login", "/no-such-page"):
            assert client.get(path).headers.get("Strict-Transport-Security") == hsts, path
    assert HSTS.startswith("max-age=") and int(HSTS.removeprefix("max-age=")) >= 31536000


def test_the_feed_names_the_public_address_never_the_host_header(services: Services) -> None:
    headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    for public_url, named in (
        ("https://kotha.example", "https://kotha.example/events.ics"),
        (None, None),
    ):
        settings = services.settings.with_overrides(public_url=public_url, proxy_count=1)
        app = create_app(services=build_services(settings, database=services.database))
        feed = app.test_client().get("/events.ics", headers=headers)
        assert feed.status_code == 200
        assert b"evil.example" not in feed.data
        url = Calendar.from_ical(feed.data).get("URL")
        assert (None if url is None else str(url)) == named
