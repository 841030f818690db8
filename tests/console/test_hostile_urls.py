"""Every route of the app, for every role, with hostile path and query values: 4xx, never 500.

The walk reads the routes from the app's url_map and the names of the query and form
fields from the code that reads them, so a new route or field is walked without a line here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from bot.casework.accounts import ROLES
from bot.services import Services
from bot.settings import REPO_ROOT
from tests.console.test_access import (
    EXAMPLE_PATHS,
    _quick_hashes,  # noqa: F401 - quick argon2 here too
    app_with_records,
    sign_in,
)

# What someone typing into the address bar, or a scanner, might send.
HOSTILE = [
    "%00",
    "a%00b",
    "%",
    "%25",
    "%ff%fe",
    "0",
    "-1",
    "2147483648",  # one past PostgreSQL's integer
    "9223372036854775808",  # one past its bigint
    "9" * 400,
    "x" * 5000,
    "%E2%80%AE%F0%9F%98%80",  # right-to-left override, emoji
    "..%2F..%2Fetc%2Fpasswd",
    "%3Cscript%3E",
    "1e309",
    "%C2%B2",  # "²", a digit to str.isdigit that int() refuses
    "%D9%A1%D9%A2",  # "١٢", Arabic-Indic digits
    "NaN",
    "2026-02-30",
    "%0D%0ASet-Cookie:%20x=y",
]
# The names of every query and form field the code reads.
FIELD = re.compile(r"""(?:args|form|request\.values)\.get(?:list)?\(\s*["']([a-z_]+)["']""")
SOURCES = ("console", "webhooks", "bot")


def field_names() -> list[str]:
    names = {"page", "q", "lang", "as", "channel", "next"}
    for folder in SOURCES:
        for path in Path(REPO_ROOT, folder).rglob("*.py"):
            names.update(FIELD.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


FIELDS = field_names()


@pytest.fixture
def app(services: Services) -> Flask:
    return app_with_records(services)


def urls(rule: Rule) -> Iterator[str]:
    """The rule's path with each hostile value in its arguments (raw, not quoted), then a
    path that answers with each hostile value in every query field."""
    for value in HOSTILE if rule.arguments else ():
        yield re.sub(r"<(?:[a-z]+:)?[a-z_]+>", value, rule.rule)
    path = EXAMPLE_PATHS.get(rule.endpoint, rule.rule)
    if "<" in path:
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", path)
    yield path
    for value in HOSTILE:
        yield f"{path}?{query(value)}"


def query(value: str) -> str:
    return "&".join(f"{name}={value}" for name in FIELDS)


def client_for(app: Flask, who: str) -> FlaskClient:
    client = app.test_client()
    if who != "nobody":
        assert sign_in(client, f"{who}@example.org") == 302
    return client


def csrf_token(client: FlaskClient) -> str:
    page = client.get("/console/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def walk(app: Flask, client: FlaskClient, who: str) -> list[str]:
    """Every route with hostile values; return what answered 5xx."""
    failures: list[str] = []
    token = csrf_token(client) or "x"
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "console.logout":
            continue  # walked last, so the client stays signed in
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for url in urls(rule):
            for method in methods:
                value = url.rpartition("=")[2] if "?" in url else ""
                form = {name: value for name in FIELDS} | {"csrf_token": token}
                data = form if method == "POST" else None
                response = client.open(url, method=method, data=data)
                response.get_data()  # a streamed body (the cases CSV) is read to its end
                response.close()
                if response.status_code >= 500:
                    failures.append(f"{method} {url[:120]} as {who}: {response.status_code}")
    return failures


@pytest.mark.parametrize("who", ["nobody", *ROLES])
def test_no_hostile_address_gets_a_500(app: Flask, who: str) -> None:
    assert walk(app, client_for(app, who), who) == []


@pytest.mark.parametrize(
    "path",
    [
        "/events/%00.ics",
        "/events/%00",
        "/events/99999999999999999999.ics",
        "/console/conversations/99999999999999999999",
        "/console/cases/%00",
        "/console/audit?user=99999999999999999999&page=99999999999999999999",
        "/console/conversations?q=%00&page=9999999999",
        "/simulator?as=%00&channel=%00",
        "/you-said-we-did?lang=%00",
    ],
)
def test_the_addresses_the_review_found(app: Flask, path: str) -> None:
    client = app.test_client()
    assert sign_in(client, "admin@example.org") == 302
    response = client.get(path)
    assert 200 <= response.status_code < 500, path
