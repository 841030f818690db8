"""The voice line: a phone call is a conversation of channel `voice`, stepped by the engine.

Twilio's callbacks (webhooks/twilio_voice.py) come here as calls of this module, each
returning a `Turn`: what to say, in which language, and what to listen for next (a key, a
recording, nothing). The keys a caller presses are the text channels' numbers, handed to
the same runner and engine as a text message would be (`Runner.receive`); what the step
writes on the voice channel is kept `spoken` (bot/pipeline/dispatch.py) and said here.

The line's own keys never reach the engine: `*` says the last turn again, `0` puts the
caller through to a person in office hours (`KOTHA_VOICE_OFFICE_HOURS`), and no key at all
is asked again twice, then the caller is told goodbye: staff call them back (a task, once a
call, bot/casework/callers.py) when we have their number and they did not say No to contact.

A recording answers a question that asks for words (a `text` node), as a voice note would:
its URL is the inbound message's media, so the feedback keeps it and the console plays it.
It is stored once by its RecordingSid whichever callback brings it first, and reaches the
caller's feedback even if they hung up after the tone (`recorded`). When a call ends half-way,
what the caller said is kept, as when a text conversation expires (`ended`), and a caller
from a UK mobile is sent their reference by SMS (`_text_reference`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.casework import callers, voiceprompts
from bot.casework.callers import sms_address
from bot.casework.spokenhours import said_hours
from bot.i18n import I18n
from bot.pipeline import conversation, outbox
from bot.pipeline.consent import refuses_contact
from bot.pipeline.dispatch import SPOKEN
from bot.pipeline.outbox import Outbound
from bot.pipeline.runner import Runner
from bot.pipeline.spoken import render_spoken
from bot.settings import Settings
from bot.types import VOICE, InboundMessage, Kind, Media
from flows.engine import IDLE_NODE, State, is_idle
from flows.library import LANGUAGE_FLOW, MENU_FLOW, Flows
from flows.model import Node
from flows.spoken import LANGUAGE_NAMES
from flows.texts import N_, NOT_AN_ANSWER
from storage.db import Database
from storage.models import Address, Feedback, Message, VoiceCall

log = logging.getLogger(__name__)

# The languages a caller chooses by key, in the order of the text channels' list
# (locales/languages.yaml): 1 English, 2 Bengali, 3 Sylheti.
LANGUAGE_KEYS: tuple[str, ...] = ("en", "bn", "syl")
# No key pressed: the question again this many times, then goodbye and how to reach us.
MAX_MISSES = 2
# A recording shorter than this (Twilio rounds down) holds nothing to keep.
MIN_RECORDING_SECONDS = 1
# Twilio's recordings are WAV unless asked for in another format.
RECORDING_TYPE = "audio/x-wav"
# What silence at a question one may pass over (complaint.yaml `wanted`) stands for: the
# English keyword, which the engine reads in every language (flows/keywords.yaml `skip`).
SKIP = "skip"
ENDED_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})

# TRANSLATORS: spoken on the voice line (a phone call), read out by a voice: keep it short.
WELCOME = N_("Welcome to Kotha. Tell Tower Hamlets Council what you think.")
# TRANSLATORS: spoken on the voice line, once per language, each in its own language:
# {language} is the language's name, {key} the key to press.
PRESS_FOR_LANGUAGE = N_("For {language}, press {key}.")
# TRANSLATORS: spoken on the voice line after each question with numbered options.
PRESS_A_KEY = N_("Press the number on your phone. Press star to hear this again.")
# TRANSLATORS: spoken on the voice line before the tone.
SPEAK_AFTER_TONE = N_("Speak after the tone. Press hash when you have finished.")
# TRANSLATORS: spoken on the voice line when the caller pressed no key.
NO_KEY = N_("We did not hear a key.")
# TRANSLATORS: spoken on the voice line when the caller pressed a key that is not offered.
WRONG_KEY = N_("That key is not one of the choices.")
# TRANSLATORS: spoken on the voice line before hanging up after no key twice, to a caller
# whose number we have: staff will ring them.
CALL_YOU_BACK = N_(
    "We could not hear your choice. Someone from the council will call you back. Goodbye."
)
# TRANSLATORS: spoken on the voice line before hanging up after no key twice, to a caller
# we cannot call back (their number is hidden, or they asked us not to contact them).
CALL_AGAIN = N_("We could not hear your choice. Please call us again. Goodbye.")
# TRANSLATORS: spoken on the voice line when the caller presses 0 in office hours.
PUTTING_THROUGH = N_("Putting you through to a member of staff.")
# TRANSLATORS: spoken on the voice line when the caller presses 0 outside office hours;
# {hours} are the office hours in words, like "Monday to Friday, 9 am to 5 pm".
CLOSED = N_("Nobody can take your call now. Please call again {hours}.")
# TRANSLATORS: spoken on the voice line at the end of a call.
GOODBYE = N_("Thank you for calling. Goodbye.")
# TRANSLATORS: a text message to someone who called the voice line from a mobile.
REFERENCE_BY_SMS = N_("Thank you for calling Kotha. Your reference is {reference}.")

# The prompts the line says on its own, each recordable (bot/casework/voiceprompts.py);
# not CLOSED, whose office hours are a setting, filled in when said.
LINE_PROMPTS: tuple[str, ...] = (
    WELCOME,
    PRESS_FOR_LANGUAGE,
    PRESS_A_KEY,
    SPEAK_AFTER_TONE,
    NO_KEY,
    WRONG_KEY,
    CALL_YOU_BACK,
    CALL_AGAIN,
    PUTTING_THROUGH,
    GOODBYE,
)

Listen = Literal["digits", "record", "hangup", "transfer"]


@dataclass(frozen=True)
class Spoken:
    """One thing to say in the call, in the language it is written in."""

    text: str
    language: str
    # A person's recording of these words to play instead (voiceprompts), if there is one.
    recording: int | None = None


@dataclass(frozen=True)
class Turn:
    """What the call says next, and what it then waits for."""

    say: tuple[Spoken, ...]
    listen: Listen
    transfer_to: str | None = None


class VoiceLine:
    """Runs phone calls through the runner and engine, one Twilio callback at a time."""

    def __init__(
        self,
        database: Database,
        runner: Runner,
        flows: Flows,
        i18n: I18n,
        settings: Settings,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.runner = runner
        self.flows = flows
        self.i18n = i18n
        self.settings = settings
        self.clock = clock

    # -- the callbacks ----------------------------------------------------------------------

    def answer(self, call_sid: str, caller: str) -> Turn:
        """A new call: remember it, keep what an earlier call left half-way, and ask for a
        language. A repeated callback for the same call asks again, and writes nothing new."""
        address_id = self._call(call_sid, caller)
        self._finish_conversation(address_id)
        flow = self.flows[LANGUAGE_FLOW]
        for _ in range(8):
            try:
                with self.database.transaction() as tx:
                    person = conversation.read(tx.connection, address_id)
                    conversation.save(
                        tx.connection, person, State(flow.id, flow.start), self.clock()
                    )
            except (StaleDataError, IntegrityError):
                continue
            break
        return self._languages()

    def pressed(self, call_sid: str, digits: str, turn: str, misses: int) -> Turn:
        """The caller pressed `digits` (nothing: none before the timeout) at turn `turn`."""
        call = self._find(call_sid)
        if call is None:
            log.info("voice: keys for a call not known, the caller told goodbye")
            return Turn((self._say("en", GOODBYE),), "hangup")
        address_id, caller = call
        language = self._language(address_id)
        if not digits and self._optional_words(address_id):
            # Nothing said at a question one may pass over: passed over, as SKIP would.
            digits = SKIP
        if not digits:
            if misses > MAX_MISSES:
                goodbye = CALL_YOU_BACK if self._call_back(call_sid, address_id) else CALL_AGAIN
                return Turn((self._say(language, goodbye),), "hangup")
            if self._choosing_language(address_id):
                return self._languages(self._each_language(NO_KEY))
            return self._again(address_id, language, lead=self._say(language, NO_KEY))
        if digits == "*":
            return self._again(address_id, language)
        if digits == "0":
            return self._transfer(address_id, language)
        if self._choosing_language(address_id):
            if digits not in {str(key) for key in range(1, len(LANGUAGE_KEYS) + 1)}:
                return self._languages(self._each_language(WRONG_KEY))
        message = InboundMessage(
            channel=VOICE, address=caller, text=digits, provider_id=f"{call_sid}/{turn}"
        )
        received = self.runner.receive(message, process_now=True)
        if received.duplicate:
            return self._again(address_id, language)
        self._text_reference(address_id)
        return self._after_step(address_id, received.outbound_ids)

    def recorded(
        self, call_sid: str, recording_sid: str, url: str, duration: int, *, live: bool
    ) -> Turn | None:
        """A recording finished: the answer to the question the caller is at, kept once.

        `live` when the call waits for what to say next (the Record's action); otherwise the
        recording callback, which may come after the caller hung up. None for a call not
        known: nothing to tie the recording to (it stays at Twilio, and is logged).
        """
        call = self._find(call_sid)
        if call is None:
            log.warning("voice: recording %s for a call not known", recording_sid[:40])
            return None
        address_id, caller = call
        language = self._language(address_id)
        if duration < MIN_RECORDING_SECONDS or not url:
            # Nothing said: the question again (the engine's empty answer), with no file.
            media: tuple[Media, ...] = ()
            provider_id = f"{recording_sid}/empty"
        else:
            media = (Media(url=url, content_type=RECORDING_TYPE),)
            provider_id = recording_sid
        if not live and media and self._ended(call_sid):
            self._attach_late(call_sid, address_id, caller, recording_sid, media)
            return None
        if not live and not media:
            return None  # the live call (the Record's action) said the question again
        message = InboundMessage(
            channel=VOICE, address=caller, text="", provider_id=provider_id, media=media
        )
        received = self.runner.receive(message, process_now=True)
        self._text_reference(address_id)
        if received.duplicate:
            return self._again(address_id, language) if live else None
        return self._after_step(address_id, received.outbound_ids)

    def ended(self, call_sid: str, status: str) -> None:
        """The call's status changed; once it is over, keep what the caller told us so far."""
        with self.database.session() as session:
            call = session.scalar(select(VoiceCall).where(VoiceCall.call_sid == call_sid))
            if call is None:
                log.info("voice: status for a call not known")
                return
            if call.ended_at is not None:
                return  # a repeated or late status: the call was finished with already
            call.status = status
            if status not in ENDED_STATUSES:
                return
            call.ended_at = self.clock()
            address_id = call.address_id
        self._finish_conversation(address_id)
        self._text_reference(address_id)

    # -- what the call says -----------------------------------------------------------------

    def _languages(self, lead: Sequence[Spoken] = ()) -> Turn:
        """The greeting, then each language offered in itself with its key."""
        said = list(lead)
        said.append(self._say("en", WELCOME))
        for key, code in enumerate(LANGUAGE_KEYS, 1):
            name = self.i18n.language(code).name
            said.append(self._say(code, PRESS_FOR_LANGUAGE, language=name, key=key))
        return Turn(tuple(said), "digits")

    def _each_language(self, message: str) -> tuple[Spoken, ...]:
        """A prompt of the line's own in each language offered: before the caller chose one."""
        return tuple(self._say(code, message) for code in LANGUAGE_KEYS)

    def _choosing_language(self, address_id: int) -> bool:
        state = self._state(address_id)
        return state is not None and state.flow == LANGUAGE_FLOW

    def _say(self, caller: str, message: str, **params: object) -> Spoken:
        """A prompt of the line's own to a caller of language `caller`: its recording if any."""
        rendered = self.i18n.render(self.i18n.on_channel(caller, VOICE), message, params)
        if message not in LINE_PROMPTS:
            return Spoken(rendered.text, rendered.language)
        with self.database.session() as session:
            recorded = voiceprompts.recordings(session)
        found = voiceprompts.voiced(recorded, message, caller)
        return Spoken(rendered.text, rendered.language, found.recording_id)

    def _from_row(
        self,
        row: Message,
        language: str,
        recorded: Mapping[tuple[str, str], int],
        *,
        again: bool = False,
    ) -> list[Spoken]:
        """What a step wrote, as said: in its spoken words, each part a person's recording
        where one voice can say the whole message (voiceprompts.choose), else the machine's.
        Said `again`, a question is asked without what was said of the answer before it."""
        if not row.template:
            return [Spoken(row.body or "", row.language or "en")]
        lead = None if again and row.lead in NOT_AN_ANSWER else row.lead
        said = render_spoken(
            self.i18n,
            language,
            row.template,
            row.params,
            lead,
            row.choices or (),
            row.raw_choices,
        )
        chosen = voiceprompts.choose(recorded, said, language)
        return [Spoken(part.text, part.language, part.recording) for part in chosen]

    def _after_step(self, address_id: int, outbound_ids: Sequence[int]) -> Turn:
        """Say what the step wrote, then listen for what its question takes; when it ended
        a flow (its thanks, back at rest without the menu asked), goodbye."""
        said, templates = self._spoken_rows(address_id, outbound_ids)
        state = self._state(address_id)
        menu = self.flows[MENU_FLOW].nodes[IDLE_NODE].ask
        if said and state is not None and is_idle(state) and menu not in templates:
            language = self._language(address_id)
            return Turn((*said, self._say(language, GOODBYE)), "hangup")
        return self._listen(address_id, said)

    def _node(self, address_id: int) -> Node | None:
        """The question the caller is at, if any."""
        state = self._state(address_id)
        if state is None or state.flow not in self.flows.flows:
            return None
        return self.flows[state.flow].nodes.get(state.node)

    def _optional_words(self, address_id: int) -> bool:
        node = self._node(address_id)
        return node is not None and node.type == "text" and node.optional

    def _listen(self, address_id: int, said: list[Spoken]) -> Turn:
        language = self._language(address_id)
        state = self._state(address_id)
        if state is not None and state.flow == LANGUAGE_FLOW:
            return self._languages()
        node = self._node(address_id)
        if node is not None and node.type == "text":
            return Turn((*said, self._say(language, SPEAK_AFTER_TONE)), "record")
        return Turn((*said, self._say(language, PRESS_A_KEY)), "digits")

    def _again(self, address_id: int, language: str, lead: Spoken | None = None) -> Turn:
        """The last question asked in this conversation again (`*`, or no key)."""
        with self.database.session() as session:
            last = session.scalars(
                select(Message)
                .where(
                    Message.address_id == address_id,
                    Message.direction == "out",
                    Message.status == SPOKEN,
                )
                .order_by(Message.id.desc())
                .limit(1)
            ).first()
            recorded = voiceprompts.recordings(session)
            said = self._from_row(last, language, recorded, again=True) if last else []
        state = self._state(address_id)
        if state is not None and state.flow == LANGUAGE_FLOW:
            return self._languages((lead,) if lead else ())
        return self._listen(address_id, [*([lead] if lead else []), *said])

    def _transfer(self, address_id: int, language: str) -> Turn:
        """0: a person in office hours, or when to call; then the question again."""
        hours = self.settings.voice_office_hours
        local = self.clock().astimezone(self.settings.zone)
        target = self.settings.voice_transfer_to
        if target and hours.contains(local.weekday(), local.time()):
            return Turn((self._say(language, PUTTING_THROUGH),), "transfer", transfer_to=target)
        spoken_in = self.i18n.on_channel(language, VOICE)
        closed = self._say(language, CLOSED, hours=said_hours(self.i18n, spoken_in, hours))
        return self._again(address_id, language, lead=closed)

    def _spoken_rows(
        self, address_id: int, ids: Sequence[int]
    ) -> tuple[list[Spoken], set[str | None]]:
        """What the step wrote, as said, and the texts (catalog messages) it wrote."""
        if not ids:
            return [], set()
        language = self._language(address_id)
        with self.database.session() as session:
            rows = session.scalars(
                select(Message)
                .where(Message.id.in_(list(ids)), Message.status == SPOKEN)
                .order_by(Message.id)
            ).all()
            recorded = voiceprompts.recordings(session)
            said = [part for row in rows for part in self._from_row(row, language, recorded)]
            return said, {row.template for row in rows}

    # -- the records ------------------------------------------------------------------------

    def _call(self, call_sid: str, caller: str) -> int:
        """The address of this call's caller, its call row written once."""
        key = (VOICE, caller)
        for _ in range(8):
            try:
                with self.database.transaction() as tx:
                    address_id = self.runner.store.find_address(tx.connection, key)
                    known = tx.connection.scalar(
                        select(VoiceCall.address_id).where(VoiceCall.call_sid == call_sid)
                    )
                    if known is None:
                        tx.connection.execute(
                            insert(VoiceCall).values(
                                call_sid=call_sid,
                                address_id=address_id,
                                status="in-progress",
                                started_at=self.clock(),
                            )
                        )
            except IntegrityError:
                continue  # the same call's retry, or the caller's first address, at once
            self.runner.store.remember(key, address_id)
            return address_id
        raise RuntimeError("could not keep a call after several attempts")

    def _find(self, call_sid: str) -> tuple[int, str] | None:
        with self.database.session() as session:
            found = session.execute(
                select(VoiceCall.address_id, Address.address)
                .join(Address, Address.id == VoiceCall.address_id)
                .where(VoiceCall.call_sid == call_sid)
            ).first()
        return None if found is None else (found[0], found[1])

    def _ended(self, call_sid: str) -> bool:
        with self.database.session() as session:
            ended = session.scalar(select(VoiceCall.ended_at).where(VoiceCall.call_sid == call_sid))
        return ended is not None

    def _state(self, address_id: int) -> State | None:
        with self.database.transaction() as tx:
            return conversation.read(tx.connection, address_id).state

    def _language(self, address_id: int) -> str:
        with self.database.transaction() as tx:
            return conversation.read(tx.connection, address_id).language or self.i18n.default

    def _finish_conversation(self, address_id: int) -> None:
        """Keep what a call left half-way, as an expired text conversation's is kept."""
        now = self.clock()
        for _ in range(8):
            try:
                with self.database.transaction() as tx:
                    person = conversation.read(tx.connection, address_id)
                    self.runner.stepper.expire(tx, person, now + timedelta(seconds=1), now)
            except (StaleDataError, IntegrityError):
                continue
            return

    def _attach_late(
        self,
        call_sid: str,
        address_id: int,
        caller: str,
        recording_sid: str,
        media: tuple[Media, ...],
    ) -> None:
        """A recording that came after the call ended: kept as the caller's message and
        added to the feedback this call left (kept when it ended), in one transaction, once.
        Without such feedback (a call that kept none) the message alone holds it."""
        message = InboundMessage(
            channel=VOICE, address=caller, text="", provider_id=recording_sid, media=media
        )
        with self.database.transaction() as tx:
            row = self.runner.store.inbound_row(message, address_id, "processed", None)
            if not outbox.insert_rows(tx.connection, [row]):
                return  # a replayed callback: kept already
            session = tx.session
            started = session.scalar(
                select(VoiceCall.started_at).where(VoiceCall.call_sid == call_sid)
            )
            feedback = session.scalars(
                select(Feedback)
                .where(Feedback.address_id == address_id, Feedback.created_at >= started)
                .order_by(Feedback.id.desc())
                .limit(1)
            ).first()
            if feedback is not None:
                kept = list(feedback.media or [])
                kept.extend({"url": item.url, "content_type": item.content_type} for item in media)
                feedback.media = kept
            tx.flush()

    def _call_back(self, call_sid: str, address_id: int) -> bool:
        """Open the task to call back a caller the line could not hear, once a call; whether
        we may call them back (bot/casework/callers.py `call_back`)."""
        code = self._language(address_id)
        language = LANGUAGE_NAMES.get(code, code)
        with self.database.session() as session:
            started = session.scalar(
                select(VoiceCall.started_at).where(VoiceCall.call_sid == call_sid)
            )
            voice = session.get_one(Address, address_id)
            if not callers.may_call(session, voice):
                return False
            since = started or self.clock()
            callers.call_back(session, voice, since=since, now=self.clock(), language=language)
        return True

    def _text_reference(self, address_id: int) -> None:
        """Text the reference of feedback this caller gave by phone to their UK mobile, once
        per feedback, through the outbox (a No to contact and STOP hold it there)."""
        now = self.clock()
        with self.database.session() as session:
            given = session.scalars(
                select(Feedback).where(Feedback.address_id == address_id, Feedback.channel == VOICE)
            ).all()
            if not given:
                return
            sms = sms_address(session, session.get_one(Address, address_id), now)
            if sms is None:
                return
            for feedback in given:
                if feedback.consent_to_contact is False or refuses_contact(
                    session, feedback.contact_id
                ):
                    continue
                key = f"voice-reference:{feedback.id}"
                sent = session.scalar(
                    select(Message.id).where(
                        Message.address_id == sms.id, Message.dedupe_key == key
                    )
                )
                if sent is not None:
                    continue
                outbox.add(
                    session,
                    Outbound(
                        address_id=sms.id,
                        channel="sms",
                        created_at=now,
                        kind=Kind.CASE_UPDATE,
                        template=REFERENCE_BY_SMS,
                        params={"reference": feedback.reference},
                        feedback_id=feedback.id,
                        dedupe_key=key,
                    ),
                )
