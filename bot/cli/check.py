"""`kotha check`: what is configured, what each channel still lacks, and whether each part answers.

It migrates nothing and sends nothing (reading the settings may write the generated session
key into instance/, as every command does). Providers are asked only where their
credentials are set, and then with a real request that sends nothing (Twilio: one page of
the account's messages; Telegram: getMe).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot import settings as settings_module
from bot.channels.base import SendError
from bot.channels.registry import close_senders, senders_from_settings
from bot.cli.common import Commands
from bot.pipeline.queue import make_huey
from bot.settings import Settings
from storage import migrate
from storage.db import Database

# What `kotha check` shows: each variable of the README's configuration table and how to read
# its value (tests/bot/cli/test_check.py keeps the two the same).
SHOWN: tuple[tuple[str, Callable[[Settings], object]], ...] = (
    ("KOTHA_DATABASE_URL", lambda s: make_url(s.database_url).render_as_string(hide_password=True)),
    ("KOTHA_REDIS_URL", lambda s: _hide_password(s.redis_url)),
    ("KOTHA_SECRET_KEY", lambda s: s.secret_key),
    ("KOTHA_PUBLIC_URL", lambda s: s.public_url),
    ("KOTHA_TIMEZONE", lambda s: s.timezone),
    ("KOTHA_QUIET_HOURS", lambda s: f"{s.quiet_hours.start:%H:%M}-{s.quiet_hours.end:%H:%M}"),
    ("TWILIO_ACCOUNT_SID", lambda s: s.twilio_account_sid),
    ("TWILIO_AUTH_TOKEN", lambda s: s.twilio_auth_token),
    ("KOTHA_SMS_FROM", lambda s: s.sms_from),
    ("KOTHA_WHATSAPP_FROM", lambda s: s.whatsapp_from),
    ("KOTHA_TWILIO_API_URL", lambda s: s.twilio_api_url),
    ("TELEGRAM_BOT_TOKEN", lambda s: s.telegram_bot_token),
    ("KOTHA_TELEGRAM_SECRET", lambda s: s.telegram_secret),
    ("KOTHA_TELEGRAM_API_URL", lambda s: s.telegram_api_url),
    ("KOTHA_CONVERSATION_EXPIRY_HOURS", lambda s: s.conversation_expiry_hours),
    ("KOTHA_RESUME_AFTER_HOURS", lambda s: s.resume_after_hours),
    ("KOTHA_SMS_PER_SECOND", lambda s: s.sms_per_second),
    ("KOTHA_WHATSAPP_PER_SECOND", lambda s: s.whatsapp_per_second),
    ("KOTHA_TELEGRAM_PER_SECOND", lambda s: s.telegram_per_second),
    ("KOTHA_SMS_SEGMENT_PRICE", lambda s: s.sms_segment_price),
    ("KOTHA_MAX_SEND_ATTEMPTS", lambda s: s.max_send_attempts),
    ("KOTHA_RETRY_BASE_SECONDS", lambda s: s.retry_base_seconds),
    ("KOTHA_SWEEP_SECONDS", lambda s: s.sweep_seconds),
    ("KOTHA_RESPONSE_WORKING_DAYS", lambda s: s.response_working_days),
    ("KOTHA_SAFEGUARDING_ALERT_TO", lambda s: ",".join(s.safeguarding_alert_to)),
    ("KOTHA_DIGEST_TO", lambda s: ",".join(s.digest_to)),
    ("KOTHA_INTEREST_FOLLOW_UP_WORKING_DAYS", lambda s: s.interest_follow_up_working_days),
    ("KOTHA_REMINDER_OFFSETS", lambda s: ",".join(s.reminder_offsets)),
    ("KOTHA_WHATSAPP_TEMPLATES", lambda s: ",".join(sorted(s.whatsapp_templates))),
    ("KOTHA_INSTANCE_DIR", lambda s: s.instance_dir),
    ("KOTHA_PROXY_COUNT", lambda s: s.proxy_count),
    ("KOTHA_LOG_LEVEL", lambda s: s.log_level),
    ("KOTHA_LOG_FORMAT", lambda s: s.log_format),
    ("KOTHA_METRICS_TOKEN", lambda s: s.metrics_token),
    ("PROMETHEUS_MULTIPROC_DIR", lambda s: s.metrics_dir),
    ("KOTHA_SIMULATOR", lambda s: f"{s.simulator_access} ({'set' if s.simulator else 'default'})"),
    ("KOTHA_RETENTION_CONVERSATIONS_MONTHS", lambda s: s.retention_conversations_months),
    ("KOTHA_RETENTION_COMPLAINTS_MONTHS", lambda s: s.retention_complaints_months),
    ("KOTHA_DATA_CONTROLLER", lambda s: s.data_controller),
    ("KOTHA_DATA_CONTROLLER_CONTACT", lambda s: s.data_controller_contact),
    ("KOTHA_OMBUDSMAN_CONTACT", lambda s: s.ombudsman_contact),
    ("KOTHA_VOICE_OFFICE_HOURS", lambda s: s.voice_office_hours),
    ("KOTHA_VOICE_TRANSFER_TO", lambda s: s.voice_transfer_to),
    ("KOTHA_TWILIO_MEDIA_HOSTS", lambda s: ",".join(s.twilio_media_hosts)),
    ("KOTHA_MEDIA_CACHE_MB", lambda s: s.media_cache_mb),
    ("KOTHA_MEDIA_MAX_MB", lambda s: s.media_max_mb),
    ("KOTHA_MEDIA_TIMEOUT_SECONDS", lambda s: s.media_timeout_seconds),
)
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def _hide_password(url: str | None) -> str | None:
    return _PASSWORD.sub(r"\1***@", url) if url else None


def masked(name: str, value: object) -> str:
    """How a value is printed: secrets as how long they are, never what they are."""
    if value is None or value == "":
        return "(unset)"
    if name in settings_module.SECRETS:
        return f"set, {len(str(value))} characters (hidden)"
    return str(value)


def missing_by_channel(settings: Settings) -> dict[str, list[str]]:
    """For each channel, the variables it still needs to take and send messages."""
    twilio = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
        )
        if not value
    ]
    # Twilio signs what it posts with the public URL; behind a proxy it must be said.
    public = [] if settings.public_url else ["KOTHA_PUBLIC_URL"]
    return {
        "sms": twilio + ([] if settings.sms_from else ["KOTHA_SMS_FROM"]) + public,
        "whatsapp": twilio + ([] if settings.whatsapp_from else ["KOTHA_WHATSAPP_FROM"]) + public,
        "telegram": [
            name
            for name, value in (
                ("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
                ("KOTHA_TELEGRAM_SECRET", settings.telegram_secret),
                ("KOTHA_PUBLIC_URL", settings.public_url),
            )
            if not value
        ],
    }


@dataclass(frozen=True)
class Answer:
    part: str
    ok: bool | None  # None: not asked
    said: str


def _database(settings: Settings) -> Answer:
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            session.execute(text("SELECT 1"))
        revision, head = migrate.current(database), migrate.head()
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        return Answer("database", False, f"does not answer ({type(error).__name__})")
    finally:
        database.dispose()
    if revision != head:
        return Answer(
            "database", False, f"answers, at {revision or 'no revision'}: run `kotha db upgrade`"
        )
    return Answer("database", True, f"answers ({database.dialect}, schema at {revision})")


def _queue(settings: Settings) -> Answer:
    try:
        huey = make_huey(settings)
        waiting = huey.pending_count()
    except Exception as error:  # noqa: BLE001
        return Answer("queue", False, f"does not answer ({type(error).__name__})")
    kind = "Redis" if settings.redis_url else "embedded SQLite"
    return Answer("queue", True, f"answers ({kind}, {waiting} jobs waiting)")


def _providers(settings: Settings) -> list[Answer]:
    answers = []
    senders = senders_from_settings(settings)
    try:
        for provider, channels in (("twilio", ("sms", "whatsapp")), ("telegram", ("telegram",))):
            sender = next((senders[c] for c in channels if c in senders), None)
            if sender is None:
                answers.append(Answer(provider, None, "not asked: no credentials and sender"))
                continue
            try:
                said = sender.probe()  # type: ignore[attr-defined]
            except SendError as error:
                answers.append(Answer(provider, False, f"refused: {error.reason} ({error})"))
            else:
                answers.append(Answer(provider, True, said))
    finally:
        close_senders(senders)
    return answers


def check(args: argparse.Namespace) -> int:
    settings = settings_module.load()
    print("Settings")
    width = max(len(name) for name, _ in SHOWN)
    for name, read in SHOWN:
        print(f"  {name:<{width}}  {masked(name, read(settings))}")
    print("\nChannels")
    for channel, lacks in missing_by_channel(settings).items():
        state = "ready" if not lacks else "lacks " + ", ".join(lacks)
        print(f"  {channel:<9} {state}")
    print("\nAnswers")
    answers = [_database(settings), _queue(settings), *_providers(settings)]
    for answer in answers:
        mark = {True: "ok", False: "FAILED", None: "-"}[answer.ok]
        print(f"  {answer.part:<9} {mark:<6} {answer.said}")
    return 1 if any(answer.ok is False for answer in answers) else 0


def add_parsers(commands: Commands) -> None:
    parser = commands.add_parser(
        "check", help="what is configured, what each channel lacks, whether each part answers"
    )
    parser.set_defaults(handler=check)
