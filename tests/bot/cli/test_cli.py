"""`kotha chat` and `kotha export` as people use them: a pipe in, a transcript and records out.

Each language's whole conversation is one `kotha chat` process fed through a pipe: choose the
language by number at the greeting, then a complaint, a comment, a compliment, the survey
and an interest registration. The bot's replies are compared with the flows rendered in that
language, so the tests hold whatever the wording and translations say.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import cli
from bot.i18n import I18n
from bot.outreach.consultations import LOCAL_URL
from bot.outreach.opportunities import QUESTION, SmsBudget, listed_from_seed
from bot.settings import FLOWS_DIR, LOCALES_DIR, REPO_ROOT
from bot.sms import is_gsm7
from flows.library import Flows, load_flows
from flows.listing import Choice, Listing, page_of
from flows.texts import NO, YES
from storage.db import Database
from storage.exports import csv_safe
from storage.migrate import upgrade
from storage.models import Address

LANGUAGES = ("en", "bn", "syl", "syl-Latn")
# Each language talks on its own channel and address; syl-Latn's conversation is split over
# two runs with the same --from. English uses the default address of `kotha chat`.
CHANNEL = {"en": "sms", "bn": "whatsapp", "syl": "telegram", "syl-Latn": "sms"}
SENDER = {"en": None, "bn": "+447700900201", "syl": "700900202", "syl-Latn": "+447700900203"}
# Words people type instead of a number, from flows/keywords.yaml.
YES_WORD = {"en": "OK", "bn": "হ্যাঁ", "syl": "হয়", "syl-Latn": "ha"}
NO_WORD = {"en": "no", "bn": "না", "syl": "না", "syl-Latn": "na"}
BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
BENGALI_LETTER = re.compile("[\u0985-\u09b9\u09dc-\u09df]")
TIMEOUT = 60


@dataclass(frozen=True)
class Words:
    """What one person writes in their own words; every text must come back byte for byte."""

    complaint: str
    outcome: str
    comment: str
    compliment: str
    survey: str


WORDS = {
    "en": Words(
        complaint='  The carer came at 11pm — "too late" \tand left after 5 minutes 😞  ',
        outcome="An apology, and a carer who comes on time\t",
        comment="Caf\u00e9 at the day centre is lovely 👍🏽 but it's 'closed' on Fridays \\o/",
        compliment="Thank you to Ruksana 🙏 she is \u201cthe best\u201d 👩‍👩‍👧 ",
        survey="Meetings near Whitechapel, with a Sylheti interpreter  ",
    ),
    "bn": Words(
        complaint='কেয়ারার দেরিতে এসেছে 😡 "আবার"\tআমার মা একা ছিলেন ',
        outcome="  ক্ষমা চাই এবং সময়মতো আসুক\t\t",
        comment="ডে সেন্টারের খাবার ভালো 🍛 কিন্তু 'বাস' দেরি করে",
        compliment="রুকসানা আপাকে ধন্যবাদ জানাই 🌸 তিনি খুব যত্নশীল।  ",
        survey="বাংলায় চিঠি পাঠালে ভালো হয় 📮\t",
    ),
    "syl": Words(
        complaint="আমার আব্বারে কেউ দেখতে আইছে না 😢 \u201cকিতা করতাম?\u201d\t",
        outcome="মাফ চাওয়া লাগবো  ",
        comment="\tডে সেন্টার ভালা লাগে, আরো দিন খোলা রাখইন 🙂",
        compliment="কেয়ারার ভাই খুব ভালা মানুষ 👍 শুকরিয়া ",
        survey="সিলেটি মাতলে বুঝতাম পারি 🗣️",
    ),
    "syl-Latn": Words(
        complaint='Amar ammare keu dekhte aise na 😢 "kita kortam?"\t ',
        outcome="Maf sawa lagbo  ",
        comment="Day centre bhala lage, aro din khula rakhoin 🙂\t",
        compliment="Carer bhai khub bhala manush 👍 shukriya ",
        survey="Sylheti mat'le buzhtam pari  ",
    ),
}


@dataclass(frozen=True)
class Reply:
    """A message the flows promise, as the arguments of I18n.render; params come from exports."""

    template: str
    lead: str | None = None
    choices: tuple[Choice, ...] = ()
    raw_choices: bool = False
    # Parameters the message carries itself (a way to take part's line, time and support).
    params: Mapping[str, Any] = field(default_factory=dict)
    # The feedback kind whose reference (and deadline) the message quotes, if any.
    quotes: str | None = None
    # Rendered before the person has chosen a language.
    before_language: bool = False


@dataclass
class Conversation:
    """Lines to pipe into `kotha chat`, and the replies each one must bring, walked from YAML."""

    flows: Flows
    language: str
    lines: list[str] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def send(self, line: str, *replies: Reply) -> None:
        self.lines.append(line)
        self.replies.extend(replies)

    def number(self, value: int) -> str:
        """A number as this person types it: Bengali-script readers use Bengali digits."""
        text = str(value)
        return text.translate(BENGALI_DIGITS) if self.language in ("bn", "syl") else text

    def ask(self, flow: str, node: str, lead: str | None = None) -> Reply:
        step = self.flows[flow].nodes[node]
        if step.type == "language":
            names = tuple(language.name for language in self.flows.languages)
            return Reply(step.ask or "", lead, names, raw_choices=True)
        if step.type == "yesno":
            return Reply(step.ask or "", lead, (YES, NO))
        return Reply(step.ask or "", lead, tuple(option.label for option in step.options))

    def pick(self, flow: str, node: str, value: object) -> str:
        """The number of the option that saves `value` or goes to flow `value`."""
        options = self.flows[flow].nodes[node].options
        index = next(i for i, o in enumerate(options) if value in (o.value, o.goto))
        return self.number(index + 1)

    def listed(self, area: str, value: str) -> tuple[Reply, str, Reply]:
        """The first page of an area's ways to take part, as this person's channel pages
        it, the number of `value` on it, and what is said of it when chosen."""
        i18n = I18n(LOCALES_DIR)
        code = i18n.on_channel(self.language, CHANNEL[self.language])
        page = page_of(Listing(listed_from_seed(), SmsBudget(i18n).fits(code)), QUESTION, area, 0)
        index = next(i for i, option in enumerate(page.shown) if option.value == value)
        chosen = page.shown[index]
        about = Reply(chosen.about or "", params=chosen.about_params)
        return Reply(QUESTION, None, page.choices), self.number(index + 1), about

    def done(self, flow: str, quotes: str | None = None) -> Reply:
        submit = next(n for n in self.flows[flow].nodes.values() if n.type == "submit")
        return Reply(submit.say or "", quotes=quotes)

    def language_number(self) -> str:
        codes = [language.code for language in self.flows.languages]
        return str(codes.index(self.language) + 1)


def walk(flows: Flows, language: str) -> Conversation:
    """Every flow once, in the order a person meets them from the menu."""
    words = WORDS[language]
    c = Conversation(flows, language)
    menu = c.ask("menu", "main")
    greeting = c.ask("language", "choose")
    c.send("Hello", Reply(**{**greeting.__dict__, "before_language": True}))
    c.send(c.language_number(), menu)

    c.send(c.pick("menu", "main", "complaint"), c.ask("complaint", "service"))
    c.send(c.pick("complaint", "service", "day_centre"), c.ask("complaint", "what_happened"))
    c.send(words.complaint, c.ask("complaint", "wanted"))
    c.send(words.outcome, c.ask("complaint", "callback"))
    c.send(YES_WORD[language], c.ask("complaint", "callback_language"))
    c.send(c.language_number(), c.ask("complaint", "consent"))
    # Their first contribution: then the one question about broadcasts, which "0" leaves.
    c.send(c.number(1), c.done("complaint", quotes="complaint"), c.ask("news", "news"))
    c.send("0", menu)

    c.send(c.pick("menu", "main", "comment"), c.ask("comment", "service"))
    c.send(c.pick("comment", "service", "other"), c.ask("comment", "what"))
    c.send(words.comment, c.done("comment", quotes="comment"))
    c.send("0", menu)

    c.send(c.pick("menu", "main", "compliment"), c.ask("compliment", "service"))
    c.send(c.pick("compliment", "service", "home_care"), c.ask("compliment", "what"))
    c.send(words.compliment, c.done("compliment", quotes="compliment"))
    c.send("0", menu)

    survey = "survey-have-your-say"
    c.send(c.pick("menu", "main", survey), c.ask(survey, "satisfaction"))
    c.send(c.pick(survey, "satisfaction", 4), c.ask(survey, "best_way"))
    c.send(c.pick(survey, "best_way", "phone"), c.ask(survey, "taken_part"))
    c.send(NO_WORD[language], c.ask(survey, "easier"))
    c.send(words.survey, c.done(survey))
    c.send("0", menu)

    c.send(c.pick("menu", "main", "involve"), c.ask("involve", "area"))
    page, forum, about = c.listed("groups", "senior_voice_forum")
    c.send(c.pick("involve", "area", "groups"), page)
    c.send(forum, about, c.ask("involve", "register"))
    c.send(c.number(1), c.ask("involve", "how"))
    c.send(c.pick("involve", "how", "sms"), c.ask("involve", "when"))
    # Then, never told before, their access needs: several numbers at once.
    c.send(c.pick("involve", "when", "any_time"), c.done("involve"), c.ask("access", "needs"))
    c.send(f"{c.number(1)} {c.number(3)}", c.ask("access", "interpreter"))
    c.send(c.pick("access", "interpreter", "bsl"), c.done("access"))
    return c


# -- running the command line ---------------------------------------------------------------


def kotha_command() -> list[str]:
    script = Path(sys.executable).with_name("kotha")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kotha"]


def kotha_env(instance: Path) -> dict[str, str]:
    """The caller's environment without any Kotha or provider setting, on a fresh database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KOTHA_", "TWILIO_", "TELEGRAM_"))
    }
    env["KOTHA_INSTANCE_DIR"] = str(instance)
    env["KOTHA_DATABASE_URL"] = f"sqlite:///{instance / 'kotha.db'}"
    return env


@dataclass(frozen=True)
class Run:
    stdout: str
    stderr: str


def kotha(env: Mapping[str, str], *args: str, lines: Sequence[str] = ()) -> Run:
    """Run one `kotha` command with `lines` piped to it; fail the test on a non-zero exit."""
    stdin = "".join(f"{line}\n" for line in lines).encode()
    done = subprocess.run(
        [*kotha_command(), *args],
        input=stdin,
        capture_output=True,
        env=dict(env),
        cwd=REPO_ROOT,
        timeout=TIMEOUT,
        check=False,
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, f"kotha {' '.join(args)} exited {done.returncode}:\n{stderr}"
    return Run(stdout, stderr)


def chat_args(language: str) -> list[str]:
    sender = SENDER[language]
    return ["chat", "--channel", CHANNEL[language], *(["--from", sender] if sender else [])]


# The syl-Latn conversation stops after its complaint's service and goes on in a second run.
SPLIT_AFTER = 4


@dataclass
class Session:
    """What one module's worth of `kotha` runs printed."""

    conversations: dict[str, Conversation]
    transcripts: dict[str, str]
    second_run: str
    stderr: list[str]
    exports: dict[str, str]


def run_everything(instance: Path, conversations: Mapping[str, Conversation]) -> dict[str, Any]:
    """Pipe each conversation into `kotha chat`, then export every kind of record."""
    env = kotha_env(instance)
    # Migrate here once, so the concurrent chats below do not race to create the tables.
    database = Database(env["KOTHA_DATABASE_URL"])
    upgrade(database)
    database.dispose()

    def chat(language: str) -> list[Run]:
        lines = conversations[language].lines
        if language != "syl-Latn":
            return [kotha(env, *chat_args(language), lines=lines)]
        return [
            kotha(env, *chat_args(language), lines=lines[:SPLIT_AFTER]),
            kotha(env, *chat_args(language), lines=lines[SPLIT_AFTER:]),
        ]

    with ThreadPoolExecutor(max_workers=len(LANGUAGES)) as pool:
        runs = dict(zip(LANGUAGES, pool.map(chat, LANGUAGES), strict=True))
    exports = [
        ("feedback", "json"),
        ("surveys", "json"),
        ("interests", "json"),
        ("feedback", "csv"),
        ("surveys", "csv"),
    ]
    with ThreadPoolExecutor(max_workers=len(exports)) as pool:
        printed = pool.map(
            lambda job: kotha(env, "export", job[0], "--format", job[1]).stdout, exports
        )
        outputs = {
            f"{records}.{form}": text
            for (records, form), text in zip(exports, printed, strict=True)
        }
    return {
        "transcripts": {language: done[0].stdout for language, done in runs.items()},
        "second_run": runs["syl-Latn"][1].stdout,
        "stderr": [run.stderr for done in runs.values() for run in done],
        "exports": outputs,
    }


def once_per_test_run(
    factory: pytest.TempPathFactory, name: str, compute: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Compute once even when pytest-xdist gives this module's tests to several workers."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return compute()
    shared = factory.getbasetemp().parent  # the same directory for every worker of this run
    result = shared / f"{name}.json"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if result.exists():
            found: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
            return found
        computed = compute()
        result.write_text(json.dumps(computed), encoding="utf-8")
        return computed


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    flows = load_flows(FLOWS_DIR, I18n(LOCALES_DIR).choices)
    conversations = {language: walk(flows, language) for language in LANGUAGES}
    printed = once_per_test_run(
        tmp_path_factory,
        "kotha-cli",
        lambda: run_everything(tmp_path_factory.mktemp("kotha-chat"), conversations),
    )
    return Session(conversations=conversations, **printed)


# -- what the person should have seen --------------------------------------------------------


def feedback(session: Session, language: str) -> dict[str, dict[str, Any]]:
    """This language's feedback records by kind."""
    rows = json.loads(session.exports["feedback.json"])
    rows = [row for row in rows if row["language"] == language]
    by_kind = {row["kind"]: row for row in rows}
    assert len(by_kind) == len(rows) == 3, rows
    return by_kind


def rendered(session: Session, language: str, replies: Sequence[Reply]) -> list[str]:
    """Render the promised replies as `kotha chat` must print them."""
    i18n = I18n(LOCALES_DIR)
    records = feedback(session, language)
    texts = []
    for reply in replies:
        params: dict[str, Any] = dict(reply.params)
        if reply.quotes is not None:
            record = records[reply.quotes]
            params["reference"] = record["reference"]
            if record["acknowledge_by"] is not None:
                params["deadline"] = {"date": record["acknowledge_by"]}
        if "{privacy_link}" in reply.template:
            params["privacy_link"] = LOCAL_URL + "/privacy"  # no KOTHA_PUBLIC_URL in chat
        code = None if reply.before_language else language
        texts.append(
            i18n.render(
                code,
                reply.template,
                params,
                reply.lead,
                reply.choices,
                reply.raw_choices,
                CHANNEL[language],
            ).text
        )
    return texts


def printed(texts: Sequence[str]) -> str:
    """Each bot message as it shows on the phone, followed by a blank line."""
    return "".join(f"{text}\n\n" for text in texts)


def bot_messages(transcript: str) -> Iterator[str]:
    assert transcript.endswith("\n\n")
    yield from transcript[: -len("\n\n")].split("\n\n")


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_chat_prints_every_reply_the_flows_promise(session: Session, language: str) -> None:
    replies = session.conversations[language].replies
    expected = rendered(session, language, replies)
    if language == "syl-Latn":
        first = SPLIT_AFTER  # one reply per line until then
        assert session.transcripts[language] == printed(expected[:first])
        assert session.second_run == printed(expected[first:])
    else:
        assert session.transcripts[language] == printed(expected)
    # The greeting offers every language SMS can show by number, each named in itself.
    greeting = next(bot_messages(session.transcripts[language])).splitlines()
    names = [
        entry.name
        for entry in I18n(LOCALES_DIR).languages.values()
        if CHANNEL[language] != "sms" or not entry.sms
    ]
    assert greeting[-len(names) :] == [f"{n} {name}" for n, name in enumerate(names, 1)]


def test_chat_prints_nothing_else(session: Session) -> None:
    # Piped, not a terminal: no banner, and nothing about the messages on stderr.
    assert session.stderr == [""] * len(session.stderr)


@pytest.mark.parametrize("language", ["en", "syl-Latn"])
def test_latin_script_replies_stay_gsm7(session: Session, language: str) -> None:
    messages = [*bot_messages(session.transcripts[language])]
    if language == "syl-Latn":
        messages += bot_messages(session.second_run)
    replies = session.conversations[language].replies
    # Only the language menus, which name বাংলা and সিলেটি in their own script, may need UCS-2.
    pairs = zip(replies, messages, strict=True)
    assert [m for r, m in pairs if not r.raw_choices and not is_gsm7(m)] == []


@pytest.mark.parametrize("language", ["bn", "syl"])
def test_bengali_script_replies_are_in_bengali(session: Session, language: str) -> None:
    i18n = I18n(LOCALES_DIR)
    conversation = session.conversations[language]
    messages = list(bot_messages(session.transcripts[language]))
    assert len(messages) == len(conversation.replies)
    for reply, message in zip(conversation.replies[1:], messages[1:], strict=True):
        if reply.choices and not reply.raw_choices:  # language menus keep ASCII digits
            assert message.splitlines()[-1].startswith(conversation.number(len(reply.choices)))
        if i18n.gettext(language, reply.template) != reply.template:
            assert BENGALI_LETTER.search(message), message
    deadline = feedback(session, language)["complaint"]["acknowledge_by"]
    day = date.fromisoformat(deadline).day
    [confirmation] = [m for m in messages if str(day).translate(BENGALI_DIGITS) in m]
    assert BENGALI_LETTER.search(confirmation)


@pytest.mark.parametrize("language", LANGUAGES)
def test_feedback_export_keeps_what_people_wrote(session: Session, language: str) -> None:
    words = WORDS[language]
    records = feedback(session, language)
    assert {kind: row["text"] for kind, row in records.items()} == {
        "complaint": words.complaint,
        "comment": words.comment,
        "compliment": words.compliment,
    }
    for kind, row in records.items():
        assert row["text"].encode() == getattr(words, kind).encode()
        assert row["channel"] == CHANNEL[language]
        assert row["status"] == "received" and row["complete"] is True
        assert isinstance(row["reference"], str) and row["reference"]
        created = datetime.fromisoformat(row["created_at"])
        assert created.tzinfo is not None
    assert len({row["reference"] for row in records.values()}) == 3
    complaint = records["complaint"]
    assert complaint["service"] == "day_centre"
    assert complaint["desired_outcome"] == words.outcome
    assert complaint["wants_callback"] is True
    assert complaint["callback_language"] == language
    assert complaint["consent_to_contact"] is True
    created_day = datetime.fromisoformat(complaint["created_at"]).date()
    assert date.fromisoformat(complaint["acknowledge_by"]) > created_day
    assert records["comment"]["service"] == "other"
    assert records["compliment"]["service"] == "home_care"


@pytest.mark.parametrize("language", LANGUAGES)
def test_survey_and_interest_exports(session: Session, language: str) -> None:
    [survey] = [r for r in json.loads(session.exports["surveys.json"]) if r["language"] == language]
    assert survey["survey"] == "have-your-say" and survey["complete"] is True
    assert survey["answers"] == {
        "satisfaction": 4,
        "best_way": "phone",
        "taken_part_before": False,
        "what_would_help": WORDS[language].survey,
    }
    assert survey["channel"] == CHANNEL[language]
    assert datetime.fromisoformat(survey["created_at"]).tzinfo is not None

    rows = json.loads(session.exports["interests.json"])
    [interest] = [r for r in rows if r["language"] == language]
    assert (interest["opportunity"], interest["contact_how"], interest["contact_when"]) == (
        "senior_voice_forum",
        "sms",
        "any_time",
    )
    # Which opportunity, where staff are with it and who follows it up.
    assert (interest["opportunity_title"], interest["status"], interest["assigned_to"]) == (
        "Senior voice forum",
        "new",
        None,
    )
    assert interest["channel"] == CHANNEL[language]
    assert datetime.fromisoformat(interest["created_at"]).tzinfo is not None


def test_from_continues_the_same_conversation(session: Session) -> None:
    conversation = session.conversations["syl-Latn"]
    [first_reply, *_] = rendered(session, "syl-Latn", conversation.replies[SPLIT_AFTER:])
    # The second run answers the complaint's next question: no greeting, no language menu.
    assert session.second_run.startswith(printed([first_reply]))
    complaint = feedback(session, "syl-Latn")["complaint"]
    assert complaint["service"] == "day_centre"  # chosen in the first run
    assert complaint["text"] == WORDS["syl-Latn"].complaint  # written in the second


def test_exports_carry_bcp47_languages_and_every_channel(session: Session) -> None:
    rows = json.loads(session.exports["feedback.json"])
    assert sorted({row["language"] for row in rows}) == sorted(LANGUAGES)
    assert {row["channel"] for row in rows} == {"sms", "whatsapp", "telegram"}


@pytest.mark.parametrize("records", ["feedback", "surveys"])
def test_csv_export_matches_json(session: Session, records: str) -> None:
    as_json = json.loads(session.exports[f"{records}.json"])
    reader = csv.DictReader(io.StringIO(session.exports[f"{records}.csv"], newline=""))
    as_csv = list(reader)
    assert reader.fieldnames == list(as_json[0])
    assert len(as_csv) == len(as_json) == len(LANGUAGES) * (3 if records == "feedback" else 1)
    for row, expected in zip(as_csv, as_json, strict=True):
        for key, value in expected.items():
            if isinstance(value, dict | list):
                assert json.loads(row[key]) == value
            elif isinstance(value, str):
                # Texts with tabs, quotes and emoji survive CSV; one a spreadsheet would run
                # as a formula (a leading tab, "=") gets an apostrophe before it.
                assert row[key] == csv_safe(value)
            else:
                assert row[key] == ("" if value is None else str(value))


def test_chat_from_a_number_as_people_write_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KOTHA_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("KOTHA_DATABASE_URL", raising=False)
    monkeypatch.delenv("KOTHA_REDIS_URL", raising=False)
    assert cli.main(["db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n"))
    assert cli.main(["chat", "--from", "07700 900123"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n"))
    assert cli.main(["chat", "--from", "not a number"]) == 2
    assert "--from 'not a number' is not a phone number" in capsys.readouterr().err
    database = Database(f"sqlite:///{tmp_path / 'kotha.db'}")
    with database.session() as db:
        assert db.scalars(select(Address.address)).all() == ["+447700900123"]
    database.dispose()
