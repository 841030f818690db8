"""SMS-safe staff text: GOV.UK Notify's replacements, Bengali and Syloti Nagri left alone,
and nothing a person wrote ever changed."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.casework.replies import SAVED_REPLIES
from bot.cli.catalogs import po_path
from bot.i18n import I18n
from bot.settings import LOCALES_DIR
from bot.sms import is_gsm7, sms_cost
from bot.smssafe import NOTIFY_REPLACES, REPLACEMENTS, sms_safe
from bot.staff_text import StaffTextError, checked, language_problem
from storage.models import Feedback, Message
from tests.conftest import Bot

ISSUE_BROADCAST = (
    "You said the day centre should open at weekends \u2013 we\u2019ve listened. From 5 "
    "January it\u2019s open on Saturdays, 10am to 3pm. Thank you."
)
# What GOV.UK Notify's SanitiseSMS puts in place of each character it replaces
# (alphagov/notifications-utils, sanitise_text.py).
NOTIFY = {
    "\u2011": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u180e": "",
    "\u200b": "",
    "\u200c": "",
    "\u2060": "",
    "\ufeff": "",
    "\u2028": "",
    "\u2029": "",
    "\u00a0": " ",
    "\u202f": " ",
    "\t": " ",
}


@pytest.mark.parametrize("char", sorted(NOTIFY), ids=lambda char: f"U+{ord(char):04X}")
def test_every_character_notify_replaces_is_replaced_as_notify_does(char: str) -> None:
    safe = sms_safe(f"Open{char}today")
    assert safe.text == f"Open{NOTIFY[char]}today"
    assert is_gsm7(safe.text) and safe.changed


def test_our_list_holds_all_of_notifys_and_says_which_are_its() -> None:
    assert set(NOTIFY) == NOTIFY_REPLACES <= set(REPLACEMENTS)
    # What we add has the same plain equals: primes, the hyphen and figure dash, spaces.
    for char in set(REPLACEMENTS) - NOTIFY_REPLACES:
        assert is_gsm7(sms_safe(f"a{char}b").text)


def test_the_issues_broadcast_becomes_one_gsm_segment() -> None:
    assert sms_cost(ISSUE_BROADCAST).encoding == "UCS-2"
    safe = sms_safe(ISSUE_BROADCAST)
    assert sms_cost(safe.text) == sms_cost(safe.text).__class__("GSM-7", 128, 1)
    assert safe.summary() == "2 curly quotes and 1 dash replaced"
    assert "we've listened" in safe.text and " - " in safe.text


@pytest.mark.parametrize(
    "text",
    [
        "আমরা \u201cদেখেছি\u201d \u2013 ধন্যবাদ\u2026",
        "ꠀꠝꠞꠣ \u2018ꠖꠦꠈꠍꠤ\u2019\u00a0ꠔꠣ",
        "Update: \u2018ok\u2019 – আপনার",
    ],
    ids=["Bengali", "Syloti Nagri", "mixed with Bengali"],
)
def test_bengali_and_syloti_nagri_text_is_left_as_written(text: str) -> None:
    assert sms_safe(text).text == text and not sms_safe(text).changed


def test_the_summary_names_each_sort_once_with_its_count() -> None:
    assert sms_safe("a\u2026b\u2026c\u00a0d").summary() == "2 ellipses and 1 special space replaced"
    assert sms_safe("plain").summary() == ""


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_sms_safe_is_idempotent_and_leaves_nothing_it_replaces(text: str) -> None:
    once = sms_safe(text)
    assert sms_safe(once.text).text == once.text
    if not any("\u0980" <= ch <= "\u09ff" or "\ua800" <= ch <= "\ua82f" for ch in text):
        assert not set(once.text) & set(REPLACEMENTS)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8")), st.sampled_from(["আ", "ꠀ"]))
def test_any_text_with_bengali_or_syloti_nagri_is_never_changed(text: str, letter: str) -> None:
    written = text + letter
    assert sms_safe(written).text == written


# --- Checks on staff's words -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "Enter the note"),
        ("   \n ", "Enter the note"),
        ("a" * 5_000, "The note must be 1,600 characters or fewer (it has 5,000)"),
        ("Done \u2705", "Take the emoji out of the note"),
        ("Thanks \U0001f64f\U0001f3fd", "Take the emoji out of the note"),
    ],
)
def test_staff_words_that_cannot_go_are_refused_saying_why(text: str, said: str) -> None:
    with pytest.raises(StaffTextError, match=said.replace("(", r"\(").replace(")", r"\)")):
        checked(text)


@pytest.mark.parametrize(
    ("text", "reader", "problem"),
    [
        ("We checked the records.", "en", None),
        ("আমরা রেকর্ড দেখেছি।", "bn", None),
        ("আমরা রেকর্ড দেখেছি।", "syl", None),
        ("আমরা রেকর্ড দেখেছি।", "syl-Sylo", None),  # by SMS they read Bengali script
        ("C-339661 12/01", "bn", None),  # a reference and numbers: every reader reads them
        ("আপনার C-339661 দেখেছি।", "bn", None),
        ("আমরা carer-এর রেকর্ড দেখেছি।", "bn", None),  # one English word is usual
        ("আমরা রেকর্ড দেখেছি।", "en", "it is written in Bengali script and they read English"),
        ("We checked the records.", "bn", "it is written in Latin letters and they read Bengali"),
        (
            "আফনার নালিশ লইয়া খবর: কুনু ভুল পাইছি না। We checked the visit records.",
            "syl",
            "it mixes Bengali script and Latin letters",
        ),
        (
            "amra apnar complaint dekhsi, kunu bhul paisi na, afnare janaimu",
            "en",
            "it reads as Sylheti in Latin letters and they read English",
        ),
    ],
)
def test_words_are_read_for_the_language_the_person_reads(
    text: str, reader: str, problem: str | None
) -> None:
    assert language_problem(text, reader) == problem


# --- Nothing a person wrote is ever changed ----------------------------------------------------


# One person writing again and again: each example is their next message, stored as written.
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.sampled_from(list(REPLACEMENTS) + list("abc \u2019\u2013আꠀ")),
        min_size=1,
        max_size=40,
    ).filter(lambda text: text.strip())
)
def test_what_a_person_writes_is_stored_exactly_as_written(bot: Bot, text: str) -> None:
    bot.receive("+447700900777", text)
    with bot.services.database.session() as session:
        stored = session.scalars(
            select(Message.body).where(Message.direction == "in").order_by(Message.id.desc())
        ).first()
    assert stored == text


def test_a_complaint_told_with_curly_quotes_is_kept_and_exported_as_written(bot: Bot) -> None:
    words = "The carer said \u201cnot today\u201d \u2013 again\u2026"
    for text in ("hi", "1", "1", "1", words, "SKIP", "2", "1"):
        bot.receive("+447700900778", text)
    with bot.services.database.session() as session:
        assert session.scalars(select(Feedback.text)).one() == words


@pytest.mark.parametrize("language", ["en", "syl-Latn"])
def test_every_bot_and_saved_reply_text_in_latin_letters_is_already_sms_safe(
    language: str,
) -> None:
    """Saved replies and every other catalog text are written once, by us: they must need
    no replacing (the catalog test keeps them GSM-7; this keeps their punctuation plain)."""
    i18n = I18n(LOCALES_DIR)
    for msgid in SAVED_REPLIES.values():
        rendered = i18n.render(language, msgid).text
        assert sms_safe(rendered).text == rendered, msgid
    with po_path(LOCALES_DIR, i18n.language(language)).open("rb") as source:
        unsafe = [m.id for m in read_po(source) if m.id and sms_safe(str(m.string)).changed]
    assert unsafe == []
