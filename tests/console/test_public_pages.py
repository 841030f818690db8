"""The public pages in the language asked for: every part of the page, with its fonts, and
each text marked with the language it is really in (fallbacks included)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.outreach.consultations import EventDetails, create_event
from bot.services import Services
from kotha import create_app
from storage.models import YouSaidItem

BENGALI = re.compile("[\u0980-\u09ff]")
SYLOTI_NAGRI = re.compile("[\ua800-\ua82f]")
LATIN_WORD = re.compile("[A-Za-z]{3,}")
# Names written the same in every language: the feed's format and the channels' brands.
BRANDS = {"iCalendar", "SMS", "WhatsApp", "Telegram", "GSM", "UCS", "segment", "segments"}


class Texts(HTMLParser):
    """Every text of a page's body with the language it is marked in (inherited)."""

    VOID = {"br", "img", "input", "link", "meta", "hr", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.languages: list[str] = []
        self.skipping = 0
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        lang = dict(attrs).get("lang") or (self.languages[-1] if self.languages else "")
        self.languages.append(lang)
        if tag in ("script", "style", "title", "head"):
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        self.languages.pop()
        if tag in ("script", "style", "title", "head"):
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.found.append((data.strip(), self.languages[-1] if self.languages else ""))


def texts_of(page: str) -> list[tuple[str, str]]:
    parser = Texts()
    parser.feed(page)
    return parser.found


def misplaced(page: str) -> list[tuple[str, str]]:
    """Texts whose script cannot be the language they are marked in."""
    wrong = []
    for text, language in texts_of(page):
        words = set(LATIN_WORD.findall(text)) - BRANDS
        latin = language in ("en", "syl-Latn")
        if (words and not latin) or (BENGALI.search(text) and language not in ("bn", "syl")):
            wrong.append((text, language))
        elif SYLOTI_NAGRI.search(text) and language != "syl-Sylo":
            wrong.append((text, language))
    return wrong


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.fixture
def app(services: Services) -> Flask:
    now = services.clock()
    start = (now + timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    with services.database.session() as session:
        create_event(
            session,
            EventDetails(
                titles={"en": "Carers forum", "bn": "কেয়ারার ফোরাম"},
                start_at=start,
                end_at=start + timedelta(hours=2),
                place="Town Hall",
                step_free=True,
                interpreters=["bsl"],
                descriptions={"en": "Tea and a talk about respite care."},
            ),
            None,
            now,
        )
        session.add(
            YouSaidItem(
                theme="Transport",
                texts={
                    "en": {"said": "The minibus came late.", "did": "A second minibus runs."},
                    "bn": {"said": "মিনিবাস দেরিতে এসেছে।", "did": "দ্বিতীয় মিনিবাস চলবে।"},
                },
                change="change_made",
                change_date=date(2026, 11, 2),
                status="published",
                published_at=datetime(2026, 11, 3, tzinfo=UTC),
                created_at=now,
            )
        )
    return create_app(services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


PAGES = ["/events", "/you-said-we-did", "/privacy", "/simulator?channel=sms&as=sim:0123abcd"]
LANGUAGES = ["en", "bn", "syl", "syl-Latn", "syl-Sylo"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_every_text_of_a_public_page_is_marked_with_its_language(
    client: FlaskClient, path: str, language: str
) -> None:
    joiner = "&" if "?" in path else "?"
    page = client.get(f"{path}{joiner}lang={language}")
    assert page.status_code == 200
    assert html_lang(page.text) == language
    assert misplaced(page.text) == []


@pytest.mark.parametrize("path", PAGES)
def test_a_bengali_page_is_bengali_from_the_skip_link_to_the_footer(
    client: FlaskClient, path: str
) -> None:
    joiner = "&" if "?" in path else "?"
    page = client.get(f"{path}{joiner}lang=bn").text
    assert "মূল লেখায় চলে যান" in page  # the skip link
    for english in ("Skip to main content", "Tower Hamlets Council", "Have your say", "Send"):
        assert not re.search(rf">\s*{english}", page), english
    if not path.startswith("/simulator"):
        assert "টাওয়ার হ্যামলেটস কাউন্সিল" in page
        assert "কথা: প্রাপ্তবয়স্কদের সামাজিক সেবা নিয়ে মতামত" in page  # the footer


def test_the_events_page_in_bengali(client: FlaskClient, services: Services) -> None:
    page = client.get("/events?lang=bn").text
    assert "অনুষ্ঠান: আপনার মতামত দিন" in page
    assert re.search(r"<h2[^>]*>\s*কেয়ারার ফোরাম", page)  # their title, unmarked: it is Bengali
    # Only English was written: shown, and marked English.
    assert '<span lang="en">Tea and a talk about respite care.</span>' in page
    assert "সিঁড়ি ছাড়া ঢোকার ব্যবস্থা" in page and "ব্রিটিশ সাংকেতিক ভাষা" in page
    # The date in Bengali, with Bengali digits.
    assert re.search("১০:০০–১২:০০", page)
    assert 'href="/console/static/kotha.css"' in page


def test_fallback_text_is_marked_with_the_language_it_is_in(client: FlaskClient) -> None:
    # Sylheti readers get the Bengali title; readers of romanised Sylheti the English one.
    sylheti = client.get("/events?lang=syl").text
    assert '<span lang="bn">কেয়ারার ফোরাম</span>' in sylheti
    assert "অনুষ্ঠান: আফনার মত দেইন" in sylheti
    syloti_nagri = client.get("/events?lang=syl-Sylo").text
    assert '<span lang="bn">কেয়ারার ফোরাম</span>' in syloti_nagri
    assert SYLOTI_NAGRI.search(syloti_nagri.split("<main")[1])
    romanised = client.get("/you-said-we-did?lang=syl-Latn").text
    assert '<span lang="en">The minibus came late.</span>' in romanised
    assert "Afne koisoin, amra korsi" in romanised
    assert 'lang="syl-Latn">The minibus' not in romanised


def test_you_said_we_did_in_bengali(client: FlaskClient) -> None:
    page = client.get("/you-said-we-did?lang=bn").text
    assert "আপনি বলেছেন, আমরা করেছি" in page
    assert "মিনিবাস দেরিতে এসেছে।" in page and "The minibus" not in page
    assert "পরিবর্তন করা হয়েছে" in page and "২" in page  # the change, its date in Bengali


def test_the_privacy_notice_in_bengali_names_the_controller_and_the_periods(
    client: FlaskClient, services: Services
) -> None:
    page = client.get("/privacy?lang=bn").text
    assert "গোপনীয়তা বিজ্ঞপ্তি" in page and "Privacy notice" not in page
    # The controller and contact are settings, written in English and marked so.
    settings = services.settings
    assert f'<span lang="en">{settings.data_controller}</span>' in page
    assert f'<span lang="en">{settings.data_controller_contact}</span>' in page
    # The retention periods as set, in Bengali digits.
    assert "২৪ মাস" in page and "৭২ মাস" in page
    assert "ico.org.uk" in page


def test_the_privacy_notice_says_what_the_settings_say(services: Services) -> None:
    changed = services.settings.with_overrides(
        data_controller="Example Borough <Council>",
        data_controller_contact="privacy@example.org",
        retention_conversations_months=36,
    )
    services.settings = changed
    page = create_app(services=services).test_client().get("/privacy").text
    assert '<span lang="en">Example Borough &lt;Council&gt;</span> looks after' in page
    assert "privacy@example.org" in page
    assert "We delete a chat 36 months after your last message" in page


def test_the_simulator_keeps_the_language_through_a_message(client: FlaskClient) -> None:
    page = client.get("/simulator?channel=sms&as=sim:0123abcd&lang=bn").text
    assert 'action="/simulator?lang=bn"' in page
    assert ">পাঠান</button>" in page and "আপনার মেসেজ" in page
    assert "NotoSansBengali-Regular.ttf" in page and "NotoSansSylotiNagri-Regular.ttf" in page
    [token] = re.findall(r'name="csrf_token" value="([^"]+)"', page)
    form = {"channel": "sms", "as": "sim:0123abcd", "text": "Hello", "csrf_token": token}
    sent = client.post("/simulator?lang=bn", data=form)
    assert sent.status_code == 302 and "lang=bn" in sent.location
    csp = client.get("/simulator?channel=sms&as=sim:0123abcd").headers["Content-Security-Policy"]
    assert "font-src 'self'" in csp


def test_the_fonts_the_pages_name_are_served(client: FlaskClient) -> None:
    css = client.get("/console/static/kotha.css")
    assert css.status_code == 200
    text = css.text
    css.close()
    fonts = re.findall(r'url\("fonts/([^"]+)"\)', text)
    assert len(fonts) == 3
    for font in fonts:
        served = client.get(f"/console/static/fonts/{font}")
        assert served.status_code == 200, font
        served.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(asked=st.text(max_size=40))
def test_any_language_asked_for_gets_a_page(client: FlaskClient, asked: str) -> None:
    for path in ("/events", "/you-said-we-did", "/privacy"):
        page = client.get(path, query_string={"lang": asked})
        if "\x00" in asked:
            # The app refuses a NUL anywhere in an address (bot/app.py), with a plain answer.
            assert page.status_code == 400 and "NUL" in page.text
            continue
        assert page.status_code == 200
        expected = asked if asked in LANGUAGES else "en"
        assert html_lang(page.text) == expected
        assert misplaced(page.text) == []


def test_the_language_menu_keeps_the_page_and_goes_nowhere_else(client: FlaskClient) -> None:
    query = "lang=bn&channel=whatsapp&_external=1&_scheme=javascript&_anchor=x"
    page = client.get(f"/simulator?{query}", follow_redirects=True).text
    links = re.findall(r'href="([^"]*lang=[^"]*)"', page)
    # The language menu and the modes (a channel, or the phone call) stay in the simulator.
    assert links and all(link.startswith(("/simulator?", "/simulator/call?")) for link in links)
    assert not any("javascript" in link or "#" in link for link in links)
    call = client.get(f"/simulator/call?{query}", follow_redirects=True).text
    call_links = re.findall(r'href="([^"]*lang=[^"]*)"', call)
    assert call_links and all(
        link.startswith(("/simulator?", "/simulator/call?")) for link in call_links
    )
    assert not any("javascript" in link or "#" in link for link in call_links)
    events = client.get(f"/events?{query}").text
    assert 'href="/events?lang=en&amp;channel=whatsapp"' in events
