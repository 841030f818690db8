"""The message catalogs: current, complete, faithful to placeholders, and within SMS budgets."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.cli.catalogs import (
    DERIVED_NOTE,
    compile_catalogs,
    derive,
    extract_template,
    po_path,
    update_catalogs,
)
from bot.cli.messages import (
    GREETING_SEGMENTS,
    SAMPLE_PARAMS,
    Rendering,
    cost_report,
    engine_says,
    print_cost,
    renderings,
    template_ids,
    unsampled,
)
from bot.i18n import I18n, Language, load_languages
from bot.settings import FLOWS_DIR, LOCALES_DIR, REPO_ROOT
from bot.sms import is_gsm7, sms_cost
from flows.engine import Input, step
from flows.library import Flows, load_flows
from flows.model import placeholders
from flows.texts import EMPTY_ANSWER, MEDIA_RECEIVED, NOT_A_CHOICE, NOT_YES_NO, WELCOME_BACK

LANGUAGES = load_languages(LOCALES_DIR)
TRANSLATED = [language for language in LANGUAGES.values() if language.code != "en"]
REVIEW_NOTE = {"bn": "Bengali", "syl": "Sylheti", "syl-Latn": "Sylheti", "syl-Sylo": "Sylheti"}
# Words people type, which must reach them unchanged in every language.
TOKENS = re.compile(r"\b(?:0|SKIP|START|STOP|LANGUAGE)\b")


@pytest.fixture(scope="session")
def i18n() -> I18n:
    """The real catalogs, compiled here when the set-up has not compiled them yet."""
    compile_catalogs(LOCALES_DIR)
    return I18n(LOCALES_DIR)


@pytest.fixture(scope="session")
def flows(i18n: I18n) -> Flows:
    return load_flows(FLOWS_DIR, i18n.choices)


@pytest.fixture(scope="session")
def all_renderings(i18n: I18n, flows: Flows) -> list[Rendering]:
    return renderings(i18n, flows)


def read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source)


@dataclass(frozen=True)
class Entry:
    """One catalog entry as these tests read it (Kotha has no plural messages)."""

    id: str
    string: str
    fuzzy: bool
    user_comments: tuple[str, ...]


def entries(catalog: Catalog) -> Iterator[Entry]:
    for message in catalog:
        if isinstance(message.id, str) and message.id:
            string = message.string if isinstance(message.string, str) else ""
            yield Entry(message.id, string, message.fuzzy, tuple(message.user_comments))


def test_the_committed_template_is_current() -> None:
    fresh = {message.id for message in entries(extract_template(REPO_ROOT))}
    committed = set(template_ids(LOCALES_DIR))

    assert fresh - committed == set(), "new texts: run `kotha messages update`"
    assert committed - fresh == set(), "texts no longer in the code: run `kotha messages update`"


@pytest.mark.parametrize("language", LANGUAGES.values(), ids=lambda language: language.code)
def test_each_catalog_has_every_text_translated_and_nothing_else(language: Language) -> None:
    catalog = read(po_path(LOCALES_DIR, language))
    ids = set(template_ids(LOCALES_DIR))

    assert not catalog.fuzzy, "a fuzzy header makes `pybabel compile` skip the catalog"
    assert {message.id for message in entries(catalog)} == ids
    assert not catalog.obsolete, f"obsolete entries: {list(catalog.obsolete)}"
    assert "\n#~ " not in po_path(LOCALES_DIR, language).read_text(encoding="utf-8")
    untranslated = [message.id for message in entries(catalog) if not message.string]
    assert untranslated == []
    unexplained_fuzzy = [m.id for m in entries(catalog) if m.fuzzy and not m.user_comments]
    assert unexplained_fuzzy == []


@pytest.mark.parametrize("language", LANGUAGES.values(), ids=lambda language: language.code)
def test_translations_keep_placeholders_and_typed_words(language: Language) -> None:
    for message in entries(read(po_path(LOCALES_DIR, language))):
        assert placeholders(message.string) == placeholders(message.id), message.id
        assert TOKENS.findall(message.string) == TOKENS.findall(message.id), message.id


def test_the_english_catalog_starts_as_the_source_texts() -> None:
    catalog = read(po_path(LOCALES_DIR, LANGUAGES["en"]))

    assert all(message.string for message in entries(catalog))
    # A plain-language editor may reword English here; the words must stay GSM-7.
    assert [m.string for m in entries(catalog) if not is_gsm7(m.string)] == []


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda language: language.code)
def test_no_text_is_silently_left_in_english(language: Language) -> None:
    for message in entries(read(po_path(LOCALES_DIR, language))):
        if message.string == message.id:
            reasons = [note for note in message.user_comments if "English" in note]
            assert reasons, f"{message.id!r} is English in {language.code} with no reason given"


@pytest.mark.parametrize("language", TRANSLATED, ids=lambda language: language.code)
def test_every_translation_says_whether_a_native_speaker_reviewed_it(language: Language) -> None:
    speaker = REVIEW_NOTE[language.code]
    note = re.compile(
        rf"^(Draft translation: needs review|Reviewed) by a native {speaker} speaker\b"
    )
    for message in entries(read(po_path(LOCALES_DIR, language))):
        assert any(note.match(comment) for comment in message.user_comments), message.id


def test_romanised_sylheti_is_plain_ascii() -> None:
    catalog = read(po_path(LOCALES_DIR, LANGUAGES["syl-Latn"]))

    assert [m.string for m in entries(catalog) if not m.string.isascii()] == []


def test_the_walk_of_the_engine_sees_every_question_with_every_lead(flows: Flows) -> None:
    greeting, says = engine_says(flows)
    asks = {say.text for say in says}
    leads = {say.lead for say in says}

    assert greeting.raw_choices and greeting.text == flows["language"].nodes["choose"].ask
    for flow in flows.flows.values():
        for node in flow.nodes.values():
            assert (node.ask or node.say) in asks, f"{flow.id}/{node.id}"
            for option in node.options:
                assert option.info is None or option.info in leads, option.label
    assert {NOT_A_CHOICE, NOT_YES_NO, EMPTY_ANSWER, MEDIA_RECEIVED, WELCOME_BACK} <= leads
    submits = [n.say for f in flows.flows.values() for n in f.nodes.values() if n.say]
    with_media = {say.text for say in says if say.lead == MEDIA_RECEIVED}
    assert set(submits) <= with_media


def test_every_text_fits_its_sms_budget(all_renderings: list[Rendering]) -> None:
    failing = [
        f"{r.language}: {r.verdict}: {r.cost.units} units\n{r.text}"
        for r in all_renderings
        if r.verdict != "ok"
    ]

    assert failing == [], "\n\n".join(failing)
    assert unsampled(template_ids(LOCALES_DIR)) == []
    assert {r.language for r in all_renderings} == set(LANGUAGES)


def test_gsm7_languages_stay_gsm7_except_where_they_name_every_language(
    all_renderings: list[Rendering],
) -> None:
    for rendering in all_renderings:
        if LANGUAGES[rendering.language].segments == 1 and rendering.budget == 1:
            assert rendering.gsm7_required and is_gsm7(rendering.text), rendering.text


def test_the_first_greeting_links_the_privacy_notice_within_three_segments(
    i18n: I18n, flows: Flows
) -> None:
    [say] = step(flows, None, Input(text="Hello")).say
    link = {"privacy_link": SAMPLE_PARAMS["privacy_link"]}
    rendered = i18n.render(None, say.text, link, say.lead, say.choices, say.raw_choices)

    assert f"Privacy: {link['privacy_link']}\n" in rendered.text
    assert sms_cost(rendered.text).segments <= GREETING_SEGMENTS == 3
    for number, language in enumerate(LANGUAGES.values(), 1):
        assert f"\n{number} {language.name}" in rendered.text


def test_bengali_and_sylheti_read_in_their_own_script(i18n: I18n, flows: Flows) -> None:
    menu = flows["menu"].nodes["main"]
    labels = tuple(option.label for option in menu.options)
    for code in ("bn", "syl"):
        text = i18n.render(code, menu.ask or "", choices=labels, lead=NOT_A_CHOICE).text
        assert re.search("[\u0985-\u09b9]", text) and "\n১ " in text and "\n৭ " in text
    assert i18n.render("syl", "Yes").text != i18n.render("bn", "Yes").text


def test_the_cost_report_covers_every_language(i18n: I18n) -> None:
    rows = cost_report(i18n)
    out = io.StringIO()

    assert print_cost(i18n, out) == 0
    assert {row[0] for row in rows} == set(LANGUAGES)
    assert {row[2] for row in rows} == {"GSM-7", "UCS-2"}
    assert all(row[4] == "ok" and row[3] >= 1 for row in rows)
    for code in LANGUAGES:
        assert f"\n{code} (" in "\n" + out.getvalue()


def _shout(text: str) -> str:
    """Upper-case a text but not its {placeholders}."""
    return "".join(
        part if part.startswith("{") else part.upper() for part in re.split(r"(\{\w+\})", text)
    )


def test_a_new_language_is_a_catalog_and_one_line_of_configuration(
    tmp_path: Path, flows: Flows
) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
    with (locales / "languages.yaml").open("a", encoding="utf-8") as config:
        config.write(
            "xx: {dir: xx, name: Xxish, locale: en_GB, digits: latn, fallback: bn, segments: 1}\n"
        )
    with (locales / "messages.pot").open("rb") as source:
        catalog = read_po(source, locale="xx")
    catalog.fuzzy = False
    for message in catalog:
        if isinstance(message.id, str) and message.id:
            # One text left untranslated, to see the fallback at work.
            message.string = "" if message.id == "Help" else _shout(message.id)
    target = locales / "xx" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True)
    with target.open("wb") as out:
        write_po(out, catalog)

    compile_catalogs(locales)
    i18n = I18n(locales)
    menu = flows["menu"].nodes["main"]
    labels = tuple(option.label for option in menu.options)
    rendered = i18n.render("xx", menu.ask or "", lead=NOT_A_CHOICE, choices=labels)

    assert "xx" in [choice.code for choice in i18n.choices]
    assert rendered.text.startswith(f"{NOT_A_CHOICE.upper()}\n{(menu.ask or '').upper()}\n1 ")
    assert "\n2 LEAVE A COMMENT\n" in rendered.text
    assert rendered.choices[labels.index("Help")] == i18n.gettext("bn", "Help") != "Help"
    with_xx = load_flows(FLOWS_DIR, i18n.choices)
    [greeting] = step(with_xx, None, Input(text="Hello")).say
    assert "Xxish" in greeting.choices
    reference = {"reference": "C-1", "deadline": {"date": "2026-09-30"}}
    done = flows["comment"].nodes["done"].say or ""
    assert "REFERENCE IS C-1." in i18n.render("xx", done, reference).text


def test_updating_the_catalogs_merges_new_texts_and_drops_old_ones(tmp_path: Path) -> None:
    root = tmp_path
    shutil.copy(REPO_ROOT / "babel.cfg", root / "babel.cfg")
    (root / "bot").mkdir()
    (root / "bot" / "texts.py").write_text(
        'from flows.engine import N_\n\nKEPT = N_("Kept text")\nNEW = N_("Nothing like before")\n',
        encoding="utf-8",
    )
    (root / "flows" / "definitions").mkdir(parents=True)
    (root / "flows" / "definitions" / "tiny.yaml").write_text(
        'flow: tiny\nnodes:\n  - {id: a, type: text, ask: "Tell us more."}\n', encoding="utf-8"
    )
    locales = root / "locales"
    locales.mkdir()
    (locales / "languages.yaml").write_text(
        "en: {dir: en, name: English, locale: en_GB, digits: latn, fallback: null, segments: 1}\n"
        "bn: {dir: bn, name: বাংলা, locale: bn_BD, digits: beng, fallback: en, segments: 3}\n",
        encoding="utf-8",
    )
    old = Catalog(locale="bn", fuzzy=False)
    old.add("Kept text", "রাখা লেখা", user_comments=["Reviewed by a native Bengali speaker"])
    old.add("Tell us more", "আরও বলুন")
    old.add("Gone text", "চলে যাওয়া লেখা")
    bn = locales / "bn" / "LC_MESSAGES" / "messages.po"
    bn.parent.mkdir(parents=True)
    with bn.open("wb") as out:
        write_po(out, old)

    written = update_catalogs(root)

    assert sorted(path.parent.parent.name for path in written) == ["bn", "en"]
    template = read(locales / "messages.pot")
    assert {m.id for m in entries(template)} == {
        "Kept text",
        "Nothing like before",
        "Tell us more.",
    }
    english_po = locales / "en" / "LC_MESSAGES" / "messages.po"
    assert all(m.string == m.id and not m.fuzzy for m in entries(read(english_po)))
    # A plain-language rewording of the English is kept by the next update.
    english_po.write_text(
        english_po.read_text(encoding="utf-8").replace(
            'msgstr "Kept text"', 'msgstr "Text we kept"'
        ),
        encoding="utf-8",
    )
    bengali = {m.id: m for m in entries(read(bn))}
    assert set(bengali) == {"Kept text", "Nothing like before", "Tell us more."}
    assert bengali["Kept text"].string == "রাখা লেখা"
    assert bengali["Kept text"].user_comments == ("Reviewed by a native Bengali speaker",)
    assert bengali["Nothing like before"].string == ""
    # A reworded English text keeps its old translation, marked for a translator to check.
    assert bengali["Tell us more."].fuzzy and bengali["Tell us more."].string == "আরও বলুন"
    assert "Gone text" not in bn.read_text(encoding="utf-8")
    before = (locales / "messages.pot").read_bytes()
    update_catalogs(root)
    assert (locales / "messages.pot").read_bytes() == before
    assert {m.id: m.string for m in entries(read(english_po))}["Kept text"] == "Text we kept"


def test_the_syloti_nagri_catalog_is_written_from_the_sylheti_one(tmp_path: Path) -> None:
    sylheti, nagri = tmp_path / "syl.po", tmp_path / "syl_Sylo.po"
    source = Catalog(locale="syl", fuzzy=False)
    source.add("Help", "মদদ", user_comments=["Draft translation: needs review by a native"])
    source.add("WhatsApp", "WhatsApp", user_comments=["Kept as written in English: a name"])
    source.add("Thank you", "ধন্যবাদ")
    derived = Catalog(locale="syl_Sylo", fuzzy=False)
    derived.add("Help", "")
    derived.add("WhatsApp", "")
    derived.add("Thank you", "ꠖꠘ꠆ꠘꠛꠣꠖ (checked)", user_comments=["Reviewed by a native speaker"])
    for path, catalog in ((sylheti, source), (nagri, derived)):
        with path.open("wb") as out:
            write_po(out, catalog)

    assert derive(nagri, sylheti) == 2
    written = {message.id: message for message in entries(read(nagri))}
    assert written["Help"].string == "ꠝꠖꠖ"
    assert any(DERIVED_NOTE in note for note in [" ".join(written["Help"].user_comments)])
    # Why a word stays English carries over; a reviewer's own text is never overwritten.
    assert "Kept as written in English" in " ".join(written["WhatsApp"].user_comments)
    assert written["Thank you"].string == "ꠖꠘ꠆ꠘꠛꠣꠖ (checked)"
    assert derive(nagri, sylheti) == 0  # nothing changed: nothing written again
