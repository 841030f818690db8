"""`kotha messages ...`: what each bot text costs by SMS, failed messages, updating the catalogs.

`renderings` walks the conversation engine through every node and renders each message as a
person would receive it, in every language, so its SMS cost can be checked against the
language's budget (locales/languages.yaml).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from babel.messages.pofile import read_po
from sqlalchemy import select

from bot import settings as settings_module
from bot.casework.cases import (
    KIND_STATUS_TEXT,
    KIND_TEXT,
    OUTCOME_TEXT,
    OUTCOME_UPDATE,
    OUTCOME_UPDATE_WITH_CHANGE,
    UPDATE,
    UPDATE_WITH_NOTE,
)
from bot.casework.status import PROGRESS_TEXT
from bot.cli.catalogs import TEMPLATE_NAME, compile_catalogs, update_catalogs
from bot.cli.common import Commands, load_services
from bot.i18n import I18n
from bot.outreach.opportunities import ABOUT_WITH_SUPPORT, AREAS, LIST_NAME, about_params
from bot.pipeline.templates import WhatsAppTemplates
from bot.services import build_services
from bot.settings import FLOWS_DIR
from bot.sms import SmsCost, sms_cost
from flows.engine import Input, Say, State, idle, step
from flows.library import Flows, load_flows
from flows.listing import Listed, Listing
from flows.model import placeholders
from flows.texts import MEDIA_RECEIVED, STATUS_DUE, STATUS_NOW
from storage.models import Message

# The first message a new person gets names every language in its own script, so it is
# UCS-2 whatever the reader's language, and links to the privacy notice (UK GDPR art. 13:
# told when the data is collected): three segments is what we allow it, once a person.
GREETING_SEGMENTS = 3
# The longest values the runner passes: a reference and a complaint's reply-by date
# (a Wednesday in September is the longest English weekday and month pair).
SAMPLE_PARAMS: Mapping[str, Any] = {
    "reference": "C-482173",
    "deadline": {"date": "2026-09-30"},
    # Events (bot/outreach/consultations.py): staff write the titles and places, so these are
    # typical lengths, not the longest; the next events are listed two at most.
    "title": {"by_language": {"en": "Carers forum", "bn": "কেয়ারার ফোরাম"}},
    "when": {"datetime": "2026-09-30T10:00:00+01:00"},
    "place": "Town Hall, 160 Whitechapel Road",
    # A venue's access details in a reminder (bot/outreach/reminders.py): sent only where
    # they fit the reader's budget, checked as each reminder is written; two ticks here.
    "access": {"list": [{"msgid": "Step-free access"}, {"msgid": "Hearing loop"}]},
    "events": {
        "lines": [
            [{"datetime": "2026-09-30T10:00:00+01:00"}, {"by_language": {"en": "Carers forum"}}]
        ]
        * 2
    },
    "link": "https://kotha.towerhamlets.gov.uk/events/0123456789abcdefghijkl.ics",
    "privacy_link": "https://kotha.towerhamlets.gov.uk/privacy",
    # The privacy notice's settings (console/privacy.py): its texts are checked like the
    # bot's, so that each stays within what one text message could carry.
    "controller": "London Borough of Tower Hamlets",
    "contact": "Data Protection Officer, Town Hall, 160 Whitechapel Road, London E1 1BJ",
    "conversations": 24,
    "complaints": 72,
    "twilio": "Twilio",
    "ico": "ico.org.uk",
    # The ombudsman's contact (KOTHA_OMBUDSMAN_CONTACT): its default; the setting allows
    # at most bot.settings.OMBUDSMAN_MAX characters.
    "ombudsman": "lgo.org.uk, 0300 061 0614",
    "stop": "STOP",
    "preferences": "PREFERENCES",
    # A way to take part as staff write it (bot/outreach/opportunities.py): a typical one.
    "line": {"by_language": {"en": "Carers meet to share news and tell us what carers need."}},
    "time": {"by_language": {"en": "2 hours, once a month"}},
    "support": {"list": [{"msgid": "replacement care"}, {"msgid": "travel costs"}]},
    # The impact summary's draft broadcast (bot/outreach/report.py): the longest dates.
    "start": "30 September 2026",
    "end": "31 December 2026",
    "people": "12345",
    "changes": "123",
    # Staff's own words in a WhatsApp template (a broadcast, a reply): a typical length.
    "text": "The day centre on Vallance Road opens at 10 from Monday.",
    # The voice line's prompts (bot/casework/voiceline.py): spoken, but kept as short as a
    # text: a language's name and its key, and the office hours (KOTHA_VOICE_OFFICE_HOURS).
    "language": "Sylheti (Latin)",
    "key": "3",
    "hours": "Wednesday to Saturday, 9:30 am to 12:30 pm",
    # An option said as a sentence (flows/spoken.py), and office hours' parts in words
    # (bot/casework/spokenhours.py).
    "option": "Direct payments (money to arrange your own care)",
    "first_day": "Wednesday",
    "last_day": "Saturday",
    "opens": "9:30 am",
    "closes": "12:30 pm",
}

# The ways to take part the involve flow offers come from the database: one typical one per
# area stands in for them, so the walk sees the list's question and what is said of a choice
# (tests/bot/outreach/test_opportunities.py checks every page of the seeded list).
SAMPLE_LISTINGS = {
    LIST_NAME: Listing(
        tuple(
            Listed(
                value=f"sample_{area}",
                labels={"en": "Carers Forum", "bn": "কেয়ারার ফোরাম"},
                area=area,
                about=ABOUT_WITH_SUPPORT,
                about_params=about_params(
                    {"en": "Carers meet to share news, get help and tell us what carers need."},
                    {"en": "2 hours, once a month"},
                    ("replacement_care", "travel"),
                ),
            )
            for area in AREAS
        )
    )
}

# --- What each text costs ------------------------------------------------------------------


@dataclass(frozen=True)
class Rendering:
    """One bot message as a person receives it in one language, with its cost and budget."""

    language: str
    template: str
    lead: str | None
    choices: int
    text: str
    cost: SmsCost
    budget: int
    gsm7_required: bool
    detail: str = ""

    @property
    def label(self) -> str:
        """A short name for the message: its lead, its text and how many choices follow."""
        name = _short(self.template, 44)
        if self.lead:
            name = f"{_short(self.lead, 20)} + {name}"
        if self.choices:
            name = f"{name} (+{self.choices} choices)"
        return f"{name} [{self.detail}]" if self.detail else name

    @property
    def verdict(self) -> str:
        if self.gsm7_required and self.cost.encoding != "GSM-7":
            return "not GSM-7"
        if self.cost.segments > self.budget:
            return f"over budget ({self.cost.segments} > {self.budget})"
        return "ok"


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3].rstrip() + "..."


def _probes(flows: Flows, state: State, language: str) -> Iterator[Input]:
    """Yield one reply of each kind the engine tells apart at this node."""
    node = flows[state.flow].nodes[state.node]
    count = {"yesno": 2, "language": len(flows.languages), "text": 0}.get(
        node.type, len(node.options)
    )
    if node.options_from is not None:
        count = 2  # the one sample of its area, and a number that is no choice
    for number in range(1, count + 1):
        yield Input(text=str(number), language=language, listings=SAMPLE_LISTINGS)
    yield Input(text="xyz", language=language, listings=SAMPLE_LISTINGS)
    yield Input(text="", language=language, listings=SAMPLE_LISTINGS)
    picture = {"url": "https://example.invalid/picture.jpg", "content_type": "image/jpeg"}
    yield Input(text="", media=(picture,), language=language, listings=SAMPLE_LISTINGS)


def engine_says(flows: Flows) -> tuple[Say, list[Say]]:
    """Walk the engine through every node it can reach; return the first greeting and the rest.

    Every node is tried with each kind of reply (each number, a word that is no choice, an
    empty message, a picture), so each question is seen with every line that can lead it:
    an apology, an option's description, "we have received your picture", "welcome back".
    """
    language = flows.languages[0].code
    greeting = step(flows, None, Input(text="hello")).say[0]
    says: dict[tuple[Any, ...], Say] = {}

    def keep(found: Iterable[Say]) -> None:
        for say in found:
            # A list's choices are mappings (a label per language): keyed by their repr.
            says.setdefault((say.text, say.lead, repr(say.choices), say.raw_choices), say)

    for state, event in (
        (None, Input(text="hello", language=language)),
        (idle(), Input(text="START", opted_out=True, language=language)),
        (idle(), Input(text="help", language=language)),
        (idle(), Input(text="stop", language=language)),
        (idle(), Input(kind="expire")),
    ):
        keep(step(flows, state, event).say)
    # A flow may end on a text question at any edit, so every closing message is also
    # checked after "we have received your picture".
    keep(
        Say(node.say, lead=MEDIA_RECEIVED)
        for flow in flows.flows.values()
        for node in flow.nodes.values()
        if node.say
    )
    queue = [idle(), *(State(flow.id, flow.start) for flow in flows.flows.values())]
    seen: set[tuple[str, str]] = set()
    while queue:
        state = queue.pop()
        if (state.flow, state.node) in seen:
            continue
        seen.add((state.flow, state.node))
        for event in _probes(flows, state, language):
            transition = step(flows, state, event)
            keep(transition.say)
            queue.append(transition.state)
    return greeting, list(says.values())


def _about(kind: str, **texts: str) -> dict[str, Any]:
    """The parameters of a message about the sample feedback of `kind`: its reference, and
    each of `texts` (a status, an outcome) as a message of its own."""
    return {
        "kind": {"msgid": kind},
        "reference": SAMPLE_PARAMS["reference"],
        **{name: {"msgid": msgid} for name, msgid in texts.items()},
    }


def nested_samples() -> list[tuple[str, dict[str, Any], str]]:
    """Return (template, params, detail) for each message whose parameters are other messages.

    A status update names the kind of feedback and its new status, each a message of its
    own; every pair is rendered, and so is every kind with every outcome. A staff note or
    the words saying what changed are free text of any length, so only the fixed part of
    a message carrying them has a budget.
    """
    samples = []
    for key, kind in KIND_TEXT.items():
        for status in dict.fromkeys(KIND_STATUS_TEXT[key].values()):
            params = _about(kind, status=status)
            detail = f"{kind}: {_short(status, 24)}"
            samples.append((UPDATE, params, detail))
            samples.append((UPDATE_WITH_NOTE, {**params, "note": ""}, f"{detail}, no note"))
        for outcome in OUTCOME_TEXT.values():
            params = _about(kind, outcome=outcome)
            detail = f"{kind}: {_short(outcome, 24)}"
            samples.append((OUTCOME_UPDATE, params, detail))
            with_change = {**params, "change": ""}
            samples.append((OUTCOME_UPDATE_WITH_CHANGE, with_change, f"{detail}, no change text"))
        # The answer to a reference or STATUS: every status, with the deadline while due.
        for status in dict.fromkeys([*PROGRESS_TEXT.values(), *KIND_STATUS_TEXT[key].values()]):
            params = _about(kind, status=status)
            detail = f"{kind}: {_short(status, 24)}"
            samples.append((STATUS_NOW, params, detail))
            due = {**params, "deadline": SAMPLE_PARAMS["deadline"]}
            samples.append((STATUS_DUE, due, f"{detail}, due"))
    return samples


def unsampled(messages: Iterable[str]) -> list[str]:
    """Return the messages whose placeholders have no sample values, so they go unchecked."""
    nested = {template for template, _, _ in nested_samples()}
    return [
        message
        for message in messages
        if not placeholders(message) <= SAMPLE_PARAMS.keys() and message not in nested
    ]


def _render(
    i18n: I18n,
    code: str | None,
    template: str,
    say: Say | None,
    budget: int,
    gsm7: bool,
    params: Mapping[str, Any] = SAMPLE_PARAMS,
    detail: str = "",
) -> Rendering:
    lead = say.lead if say else None
    choices = say.choices if say else ()
    raw = say.raw_choices if say else False
    rendered = i18n.render(
        code, template, {**params, **(say.params if say else {})}, lead, choices, raw, "sms"
    )
    return Rendering(
        language=rendered.language,
        template=template,
        lead=lead,
        choices=len(choices),
        text=rendered.text,
        cost=sms_cost(rendered.text),
        budget=budget,
        gsm7_required=gsm7,
        detail=detail,
    )


def template_ids(locales_dir: Path) -> list[str]:
    """Return every message id of the committed template, in file order."""
    with (locales_dir / TEMPLATE_NAME).open("rb") as source:
        return [
            message.id for message in read_po(source) if isinstance(message.id, str) and message.id
        ]


def renderings(i18n: I18n, flows: Flows, messages: Sequence[str] | None = None) -> list[Rendering]:
    """Render every text alone and every message the engine builds, in every language.

    A language with a one-segment budget must stay GSM-7 (one UCS-2 segment holds only 70
    characters). Messages that list the languages by name are UCS-2 in any language and are
    allowed the greeting's budget.
    """
    messages = template_ids(i18n.locales_dir) if messages is None else messages
    greeting, says = engine_says(flows)
    # A question given more segments than its language's budget (its node's `sms_segments`).
    allowed = {
        node.ask: node.sms_segments
        for flow in flows.flows.values()
        for node in flow.nodes.values()
        if node.ask and node.sms_segments
    }
    found = [
        _render(
            i18n, None, greeting.text, greeting, GREETING_SEGMENTS, False, detail="first greeting"
        )
    ]
    for language in i18n.languages.values():
        gsm7 = language.segments == 1
        for message in messages:
            if placeholders(message) <= SAMPLE_PARAMS.keys():
                found.append(_render(i18n, language.code, message, None, language.segments, gsm7))
        for template, params, detail in nested_samples():
            found.append(
                _render(
                    i18n, language.code, template, None, language.segments, gsm7, params, detail
                )
            )
        for say in says:
            if say.raw_choices:
                budget = max(language.segments, GREETING_SEGMENTS)
                found.append(_render(i18n, language.code, say.text, say, budget, gsm7=False))
            else:
                budget = max(language.segments, allowed.get(say.text, 0))
                found.append(_render(i18n, language.code, say.text, say, budget, gsm7))
    unique: dict[tuple[str, str, int], Rendering] = {}
    for rendering in found:
        unique.setdefault((rendering.language, rendering.text, rendering.budget), rendering)
    return list(unique.values())


def cost_report(i18n: I18n, flows_dir: Path = FLOWS_DIR) -> list[tuple[str, str, str, int, str]]:
    """Return (language, message, encoding, segments, verdict) for every bot text."""
    flows = load_flows(flows_dir, i18n.choices, translations=i18n.translations)
    return [
        (r.language, r.label, r.cost.encoding, r.cost.segments, r.verdict)
        for r in renderings(i18n, flows)
    ]


def print_cost(i18n: I18n, out: TextIO, flows_dir: Path = FLOWS_DIR) -> int:
    """Print every bot text per language with its encoding and segments; return how many fail."""
    rows = cost_report(i18n, flows_dir)
    failures = 0
    for code, language in i18n.languages.items():
        print(f"{code} ({language.name}): budget {language.segments} segment(s)", file=out)
        for row_language, label, encoding, segments, verdict in rows:
            if row_language != code:
                continue
            failures += verdict != "ok"
            print(f"  {segments}  {encoding:<5}  {verdict:<18}  {label}", file=out)
        print(file=out)
    for message in unsampled(template_ids(i18n.locales_dir)):
        failures += 1
        print(f"unchecked, no sample values for its placeholders: {_short(message, 60)}", file=out)
    print(f"{len(rows)} texts, {failures} over budget, not GSM-7 or unchecked", file=out)
    return failures


def cost(args: argparse.Namespace) -> int:
    services = build_services(settings_module.load())
    return print_cost(services.i18n, sys.stdout)


def print_templates(templates: WhatsAppTemplates, out: TextIO) -> None:
    """Print, per kind and language, the words to register as a WhatsApp template, and the
    KOTHA_WHATSAPP_TEMPLATES key its Content SID goes under."""
    for kind in templates.kinds.values():
        for code in templates.i18n.languages:
            print(f"{kind.name}.{code}", file=out)
            print(f"  {templates.registration(kind, code)}", file=out)


def templates(args: argparse.Namespace) -> int:
    services = build_services(settings_module.load())
    print_templates(services.dispatcher.templates, sys.stdout)
    return 0


def update(args: argparse.Namespace) -> int:
    for path in update_catalogs(settings_module.REPO_ROOT):
        print(f"updated {path}")
    compile_catalogs(settings_module.LOCALES_DIR)
    return 0


# Outbound rows that did not go, or may not have: each with the reason staff can act on.
NOT_SENT = ("failed", "held", "unknown")


def failed(args: argparse.Namespace) -> int:
    services = load_services()
    with services.database.session() as session:
        rows = session.scalars(
            select(Message)
            .where(Message.direction == "out", Message.status.in_(NOT_SENT))
            .order_by(Message.id)
        ).all()
        print(f"{'id':>8}  {'channel':<9} {'status':<7} {'attempts':>8}  {'reason':<28} created")
        for row in rows:
            print(
                f"{row.id:>8}  {row.channel:<9} {row.status:<7} {row.attempts:>8}  "
                f"{(row.reason or ''):<28} {row.created_at.isoformat(timespec='seconds')}"
            )
    return 0


def add_parsers(commands: Commands) -> None:
    messages = commands.add_parser("messages", help="bot texts").add_subparsers(
        dest="messages", required=True
    )
    messages.add_parser(
        "cost", help="every bot text per language with its SMS segments"
    ).set_defaults(handler=cost)
    messages.add_parser(
        "update", help="extract texts into the catalogs (then translate)"
    ).set_defaults(handler=update)
    messages.add_parser(
        "templates", help="the words to register as WhatsApp templates, per kind and language"
    ).set_defaults(handler=templates)
    messages.add_parser(
        "failed", help="failed, held and unknown messages with their reasons"
    ).set_defaults(handler=failed)
