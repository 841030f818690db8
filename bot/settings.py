"""Kotha's settings, read from the environment in this one module and nowhere else."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Installed from a wheel, the package's data (catalogs, flows) sits beside it in
# site-packages; in a checkout, beside pyproject.toml. Either way it is found from here,
# never from the current directory.
REPO_ROOT = Path(__file__).resolve().parent.parent
# A checkout keeps its database in instance/ at its root; an installed Kotha in instance/
# under the directory it is started from (its systemd unit's WorkingDirectory).
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").exists()
INSTANCE_DIR = REPO_ROOT / "instance" if IN_CHECKOUT else Path("instance").absolute()
LOCALES_DIR = REPO_ROOT / "locales"
FLOWS_DIR = REPO_ROOT / "flows" / "definitions"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
# A bearer token anyone could guess protects nothing.
MIN_METRICS_TOKEN = 16
# The ombudsman's contact, as the setting may give it: short enough to keep its message in
# one segment.
OMBUDSMAN_MAX = 60


@dataclass(frozen=True)
class QuietHours:
    """A daily window, possibly across midnight, in which non-urgent sends wait."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        try:
            start_text, end_text = text.split("-")
            return cls(time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip()))
        except ValueError as error:
            raise ValueError(
                f"KOTHA_QUIET_HOURS must look like 21:00-08:00, not {text!r}"
            ) from error

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class OfficeHours:
    """The days and hours a person answers the voice line's 0 (`Mon-Fri 09:00-17:00`)."""

    first_day: int  # 0 is Monday
    last_day: int
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        match = re.fullmatch(r"\s*(\w{3})-(\w{3})\s+(\d\d:\d\d)-(\d\d:\d\d)\s*", text)
        try:
            if match is None:
                raise ValueError(text)
            first, last, start, end = match.groups()
            hours = cls(
                DAYS.index(first.title()),
                DAYS.index(last.title()),
                time.fromisoformat(start),
                time.fromisoformat(end),
            )
        except ValueError as error:
            raise ValueError(
                f"KOTHA_VOICE_OFFICE_HOURS must look like Mon-Fri 09:00-17:00, not {text!r}"
            ) from error
        if hours.start >= hours.end:
            raise ValueError("KOTHA_VOICE_OFFICE_HOURS must end after it starts")
        return hours

    def contains(self, weekday: int, moment: time) -> bool:
        """Whether a local weekday (0 Monday) and time are within the hours."""
        if self.first_day <= self.last_day:
            on_day = self.first_day <= weekday <= self.last_day
        else:
            on_day = weekday >= self.first_day or weekday <= self.last_day
        return on_day and self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{DAYS[self.first_day]}-{DAYS[self.last_day]} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Kotha deployment."""

    database_url: str = f"sqlite:///{INSTANCE_DIR / 'kotha.db'}"
    redis_url: str | None = None
    secret_key: str = ""
    public_url: str | None = None
    timezone: str = "Europe/London"
    quiet_hours: QuietHours = field(default_factory=lambda: QuietHours(time(21, 0), time(8, 0)))
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    sms_from: str | None = None
    whatsapp_from: str | None = None
    twilio_api_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_secret: str | None = None
    telegram_api_url: str | None = None
    # The voice line (webhooks/twilio_voice.py): a caller pressing 0 within these hours is
    # put through to this number; outside them they hear when to call.
    voice_office_hours: OfficeHours = field(
        default_factory=lambda: OfficeHours(0, 4, time(9, 0), time(17, 0))
    )
    voice_transfer_to: str | None = None
    # Voice notes and photos are fetched for the console only from these hosts (a MediaUrl
    # or a redirect anywhere else is refused): Twilio's API, which answers a media URL with
    # a redirect to a signed address on its media CDN. Telegram's files come from the host
    # of KOTHA_TELEGRAM_API_URL (api.telegram.org), and from nowhere else.
    twilio_media_hosts: tuple[str, ...] = (
        "api.twilio.com",
        "media.twiliocdn.com",
        "mms.twiliocdn.com",
    )
    # Fetched media are kept on disk under instance/media/ up to this many megabytes in all
    # (the oldest read go first); one file over media_max_mb is refused (Telegram's Bot API
    # serves files up to 20 MB, WhatsApp media up to 16 MB, MMS up to 5 MB); a provider
    # slower than media_timeout_seconds is given up on.
    media_cache_mb: int = 200
    media_max_mb: int = 20
    media_timeout_seconds: float = 10.0
    conversation_expiry_hours: float = 72.0
    # Someone back after this long half-way through is asked whether to carry on.
    resume_after_hours: float = 12.0
    # Provider throughput, in SMS segments (SMS) or messages (WhatsApp, Telegram) per second.
    # A UK Twilio long code sends about 10 segments a second; Telegram allows about 30
    # messages a second overall and one a second to any one chat.
    sms_per_second: int = 10
    whatsapp_per_second: int = 20
    telegram_per_second: int = 30
    telegram_per_chat_per_second: int = 1
    # What one outbound SMS segment costs, in pounds, for the broadcast preview's estimate.
    # Twilio's UK list price for an outbound segment from a long code was 0.04 GBP in 2025.
    sms_segment_price: Decimal = Decimal("0.04")
    # How to reach the Local Government and Social Care Ombudsman, told to a person whose
    # complaint was decided (bot/casework/cases.py TAKE_IT_FURTHER): its website and phone.
    ombudsman_contact: str = "lgo.org.uk, 0300 061 0614"
    max_send_attempts: int = 6
    # First retry after about this long, doubling each time (with jitter), at most 10 minutes.
    retry_base_seconds: float = 2.0
    # Each queue consumer sweeps this often: it queues again the rows a lost queue or a dead
    # worker left behind, and ends expired conversations.
    sweep_seconds: float = 60.0
    # Approved WhatsApp templates (Twilio Content SIDs) by "kind.language" (kinds in
    # TEMPLATE_KINDS), used outside the 24-hour window (bot/pipeline/templates.py).
    whatsapp_templates: Mapping[str, str] = field(default_factory=dict)
    # Complaints: a full response is due this many working days after they arrive.
    response_working_days: int = 20
    # Interest in taking part not followed up (still "new") this many working days after it
    # came is flagged first in the queue (/console/involvement) and named in the digest.
    interest_follow_up_working_days: int = 5
    # Where safeguarding alerts go (the on-call moderators) and where the daily digest of
    # overdue and due-soon cases goes: "channel:address" items, e.g. telegram:123,sms:+447…
    safeguarding_alert_to: tuple[str, ...] = ()
    digest_to: tuple[str, ...] = ()
    # Event reminders go this long before each event (ISO 8601 durations, longest first).
    reminder_offsets: tuple[str, ...] = ("P7D", "P1D")
    # How many proxies (load balancers) in front of the web app set X-Forwarded-* headers;
    # 0 trusts none. Behind them, the app takes the scheme and host from those headers.
    proxy_count: int = 0
    # Who may use /simulator (KOTHA_SIMULATOR): "on" (anyone), "off" (404) or "staff"
    # (signed-in console accounts). Unset: "on" only while no provider has credentials, so
    # a deployment that talks to real phones never offers strangers a way in.
    simulator: str | None = None
    # Retention (UK GDPR art. 5(1)(e), storage limitation): a person none of whose
    # addresses has had a message for this many months is erased, statistics kept; a
    # complaint's record is erased this many months after it closes. Six years follows the
    # Limitation Act 1980 (s. 2 and 5: six years to bring a claim), as councils' retention
    # schedules for complaint files do.
    retention_conversations_months: int = 24
    retention_complaints_months: int = 72
    # Who is responsible for people's data (the data controller), named on /privacy.
    data_controller: str = "London Borough of Tower Hamlets"
    data_controller_contact: str = (
        "Data Protection Officer, Town Hall, 160 Whitechapel Road, London E1 1BJ"
    )
    instance_dir: Path = INSTANCE_DIR
    locales_dir: Path = LOCALES_DIR
    flows_dir: Path = FLOWS_DIR
    testing: bool = False
    # Logging (bot/logs.py): the lowest level written, and `text` or `json` lines.
    log_level: str = "INFO"
    log_format: str = "text"
    # /metrics answers only with this bearer token; unset, it is off (404).
    metrics_token: str | None = None
    # prometheus-client's multi-process directory: set, /metrics adds up what every process
    # of this host counted (gunicorn's workers and `kotha worker`), not only its own.
    metrics_dir: Path | None = None

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def simulator_access(self) -> str:
        """Who may use /simulator: "on", "off" or "staff" (KOTHA_SIMULATOR, or its default)."""
        if self.simulator is not None:
            return self.simulator
        credentials = (self.twilio_account_sid, self.twilio_auth_token, self.telegram_bot_token)
        return "off" if any(credentials) else "on"

    @property
    def zone(self) -> ZoneInfo:
        """The council's local time zone (KOTHA_TIMEZONE), for dates people and staff read."""
        return ZoneInfo(self.timezone)


SIMULATOR_ACCESS = ("on", "off", "staff")


def _simulator(text: str | None) -> str | None:
    """Read KOTHA_SIMULATOR: on, off or staff; None when unset (the default decides)."""
    if text is None:
        return None
    if text.lower() not in SIMULATOR_ACCESS:
        raise ValueError(f"KOTHA_SIMULATOR must be on, off or staff, not {text!r}")
    return text.lower()


def _secret_key(instance_dir: Path) -> str:
    """Return the session key kept in instance/, generating it on first use."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


# The kinds of message that have a WhatsApp template (bot/pipeline/templates.py).
TEMPLATE_KINDS = ("case_update", "reminder", "broadcast", "staff_reply")
# Twilio's Content SIDs: HX and 32 hexadecimal digits.
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")


def _templates(text: str) -> dict[str, str]:
    """Parse `case_update.en=HX…,reminder.bn=HX…`, refusing unknown kinds and bad SIDs."""
    templates = _pairs(text)
    for key, content_sid in templates.items():
        kind, dot, language = key.partition(".")
        if not dot or kind not in TEMPLATE_KINDS or not language:
            raise ValueError(
                f"KOTHA_WHATSAPP_TEMPLATES: {key!r} is not kind.language "
                f"(kinds: {', '.join(TEMPLATE_KINDS)})"
            )
        if not CONTENT_SID.fullmatch(content_sid):
            raise ValueError(f"KOTHA_WHATSAPP_TEMPLATES: {key} is not a Content SID (HX…)")
    return templates


def _pairs(text: str) -> dict[str, str]:
    """Parse `en=HX1,bn=HX2` into a mapping."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected language=value pairs separated by commas, not {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _recipients(text: str, name: str) -> tuple[str, ...]:
    """Parse `telegram:123,sms:+447700900123` into ("telegram:123", "sms:+447700900123")."""
    items = tuple(filter(None, (part.strip() for part in text.split(","))))
    for item in items:
        channel, sep, address = item.partition(":")
        if not sep or channel not in ("sms", "whatsapp", "telegram") or not address.strip():
            raise ValueError(f"{name} items look like telegram:123 or sms:+447700900123")
    return items


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
_SHORT_DURATION = re.compile(r"^(\d+)\s*([dhm])$")


def parse_offset(text: str) -> timedelta:
    """Read a reminder offset: an ISO 8601 duration (P7D, PT12H, P1DT6H) or 7d, 12h, 30m."""
    cleaned = text.strip().upper()
    short = _SHORT_DURATION.match(cleaned.lower())
    if short:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[short.group(2)]
        return timedelta(**{unit: int(short.group(1))})
    full = _DURATION.match(cleaned)
    if full is None or cleaned in ("P", "PT") or cleaned.endswith("T"):
        raise ValueError(f"KOTHA_REMINDER_OFFSETS items look like P7D, PT12H or 7d, not {text!r}")
    days, hours, minutes = (int(part or 0) for part in full.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def iso_offset(offset: timedelta) -> str:
    """Write an offset as the ISO 8601 duration used in reminders' dedupe keys: P7D, PT12H."""
    minutes = int(offset.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")


def _offsets(text: str) -> tuple[str, ...]:
    """Parse `P7D,P1D` (or `7d,1d`) into ISO durations, longest first, each once."""
    offsets = {parse_offset(item) for item in text.split(",") if item.strip()}
    if not offsets or min(offsets) <= timedelta(0):
        raise ValueError("KOTHA_REMINDER_OFFSETS needs at least one duration above zero")
    return tuple(iso_offset(offset) for offset in sorted(offsets, reverse=True))


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the variable and its form."""


def _positive_int(text: str) -> int:
    if int(text) <= 0:
        raise ValueError("not above 0")
    return int(text)


def _count(text: str) -> int:
    if int(text) < 0:
        raise ValueError("below 0")
    return int(text)


def _positive_number(text: str) -> float:
    if not float(text) > 0:  # also refuses nan
        raise ValueError("not above 0")
    return float(text)


def _price(text: str) -> Decimal:
    price = Decimal(text)
    if not price.is_finite() or price < 0:
        raise ValueError("not a price")
    return price


def _ombudsman(text: str) -> str:
    """The ombudsman's contact goes into a text message in every language: plain and short."""
    text = text.strip()
    # Printable ASCII but the backquote stays GSM-7 (bot/sms.py) in every language's text.
    if not text or len(text) > OMBUDSMAN_MAX or not (text.isascii() and text.isprintable()):
        raise ValueError("not plain text")
    if "`" in text:
        raise ValueError("not plain text")
    return text


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.upper() not in options and text.lower() not in options:
            raise ValueError(f"not one of {', '.join(options)}")
        return text

    return parse


def _url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        scheme, sep, rest = text.partition("://")
        if not sep or scheme not in schemes or not rest.strip("/"):
            raise ValueError("not a URL")
        return text

    return parse


def _hosts(text: str) -> tuple[str, ...]:
    """Parse `api.twilio.com,media.twiliocdn.com`: host names (or IP addresses), no ports."""
    hosts = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    if not hosts or any(not re.fullmatch(r"[a-z0-9.:-]+", host) or "::" in host for host in hosts):
        raise ValueError("not host names")
    return hosts


def _database_url(text: str) -> str:
    try:
        make_url(text)
    except ArgumentError as error:
        raise ValueError("not a SQLAlchemy URL") from error
    return text


def _token(text: str) -> str:
    if len(text) < MIN_METRICS_TOKEN:
        raise ValueError("too short")
    return text


# Every value read from the environment is checked here, before anything is built from it:
# the variable, how to read it (raising ValueError when it cannot), and the form it takes,
# said in the one line a bad value gets. Secrets are never repeated back.
CHECKS: dict[str, tuple[Callable[[str], object], str]] = {
    "KOTHA_DATABASE_URL": (
        _database_url,
        "a SQLAlchemy URL, e.g. postgresql+psycopg://kotha@db/kotha",
    ),
    "KOTHA_REDIS_URL": (
        _url(("redis", "rediss", "unix")),
        "a Redis URL, e.g. redis://127.0.0.1:6379/0",
    ),
    "KOTHA_PUBLIC_URL": (
        _url(("http", "https")),
        "the public base URL, e.g. https://kotha.example.org",
    ),
    "KOTHA_TIMEZONE": (ZoneInfo, "an IANA time zone name, e.g. Europe/London"),
    "KOTHA_QUIET_HOURS": (QuietHours.parse, "two times HH:MM-HH:MM, e.g. 21:00-08:00"),
    "KOTHA_VOICE_OFFICE_HOURS": (OfficeHours.parse, "days and times, e.g. Mon-Fri 09:00-17:00"),
    "KOTHA_TWILIO_API_URL": (_url(("http", "https")), "a base URL, e.g. https://api.twilio.com"),
    "KOTHA_TELEGRAM_API_URL": (
        _url(("http", "https")),
        "a base URL, e.g. https://api.telegram.org/bot",
    ),
    "KOTHA_TWILIO_MEDIA_HOSTS": (
        _hosts,
        "host names separated by commas, e.g. api.twilio.com,media.twiliocdn.com",
    ),
    "KOTHA_MEDIA_CACHE_MB": (_positive_int, "a whole number of megabytes above 0, e.g. 200"),
    "KOTHA_MEDIA_MAX_MB": (_positive_int, "a whole number of megabytes above 0, e.g. 20"),
    "KOTHA_MEDIA_TIMEOUT_SECONDS": (_positive_number, "a number of seconds above 0, e.g. 10"),
    "KOTHA_RESUME_AFTER_HOURS": (_positive_number, "a number of hours above 0, e.g. 12"),
    "KOTHA_CONVERSATION_EXPIRY_HOURS": (_positive_number, "a number of hours above 0, e.g. 72"),
    "KOTHA_SMS_PER_SECOND": (_positive_int, "a whole number above 0, e.g. 10"),
    "KOTHA_WHATSAPP_PER_SECOND": (_positive_int, "a whole number above 0, e.g. 20"),
    "KOTHA_TELEGRAM_PER_SECOND": (_positive_int, "a whole number above 0, e.g. 30"),
    "KOTHA_SMS_SEGMENT_PRICE": (_price, "an amount in pounds, e.g. 0.04"),
    "KOTHA_OMBUDSMAN_CONTACT": (
        _ombudsman,
        f"up to {OMBUDSMAN_MAX} plain characters, e.g. lgo.org.uk, 0300 061 0614",
    ),
    "KOTHA_MAX_SEND_ATTEMPTS": (_positive_int, "a whole number above 0, e.g. 6"),
    "KOTHA_RETRY_BASE_SECONDS": (_positive_number, "a number of seconds above 0, e.g. 2"),
    "KOTHA_SWEEP_SECONDS": (_positive_number, "a number of seconds above 0, e.g. 60"),
    "KOTHA_WHATSAPP_TEMPLATES": (
        lambda text: _templates(text),
        "kind.language=HX… pairs, e.g. case_update.en=HX0123…",
    ),
    "KOTHA_RESPONSE_WORKING_DAYS": (_positive_int, "a whole number of working days, e.g. 20"),
    "KOTHA_INTEREST_FOLLOW_UP_WORKING_DAYS": (
        _positive_int,
        "a whole number of working days, e.g. 5",
    ),
    "KOTHA_SAFEGUARDING_ALERT_TO": (
        lambda text: _recipients(text, ""),
        "channel:address items, e.g. telegram:123,sms:+447700900123",
    ),
    "KOTHA_DIGEST_TO": (
        lambda text: _recipients(text, ""),
        "channel:address items, e.g. telegram:123,sms:+447700900123",
    ),
    "KOTHA_REMINDER_OFFSETS": (
        lambda text: _offsets(text),
        "durations above zero, e.g. P7D,P1D or 7d,1d",
    ),
    "KOTHA_PROXY_COUNT": (_count, "a whole number of proxies, 0 or more, e.g. 1"),
    "KOTHA_LOG_LEVEL": (_choice(LOG_LEVELS), "one of " + ", ".join(LOG_LEVELS)),
    "KOTHA_LOG_FORMAT": (_choice(LOG_FORMATS), "text or json"),
    "KOTHA_METRICS_TOKEN": (_token, f"a bearer token of at least {MIN_METRICS_TOKEN} characters"),
    "KOTHA_SIMULATOR": (_choice(SIMULATOR_ACCESS), "on, off or staff"),
    "KOTHA_RETENTION_CONVERSATIONS_MONTHS": (_positive_int, "a whole number of months, e.g. 24"),
    "KOTHA_RETENTION_COMPLAINTS_MONTHS": (_positive_int, "a whole number of months, e.g. 72"),
}
SECRETS = frozenset(
    {
        "KOTHA_SECRET_KEY",
        "TWILIO_AUTH_TOKEN",
        "TELEGRAM_BOT_TOKEN",
        "KOTHA_TELEGRAM_SECRET",
        "KOTHA_METRICS_TOKEN",
    }
)


def check(env: Mapping[str, str]) -> None:
    """Raise SettingError naming the first variable whose value cannot be used, and its form."""
    for name, (parse, expected) in CHECKS.items():
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            parse(text)
        except (ValueError, KeyError, ArithmeticError, InvalidOperation) as error:
            # Secrets, and URLs that may carry a password, are not repeated back.
            shown = "" if name in SECRETS or "URL" in name else f"={text[:60]!r}"
            raise SettingError(f"{name}{shown}: expected {expected}") from error


def _months(text: str | None, name: str, default: int) -> int:
    """A retention period in whole months, at least one."""
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} is a whole number of months, at least 1, not {text!r}")
    return int(text)


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (or the mapping given, for tests).

    A value that cannot be used raises SettingError, whose one line names the variable.
    """
    env = os.environ if environ is None else environ
    check(env)

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    instance_dir = Path(get("KOTHA_INSTANCE_DIR") or INSTANCE_DIR)
    defaults = Settings()
    database_url = get("KOTHA_DATABASE_URL") or f"sqlite:///{instance_dir / 'kotha.db'}"
    return Settings(
        database_url=database_url,
        redis_url=get("KOTHA_REDIS_URL"),
        secret_key=get("KOTHA_SECRET_KEY") or _secret_key(instance_dir),
        public_url=(get("KOTHA_PUBLIC_URL") or "").rstrip("/") or None,
        timezone=get("KOTHA_TIMEZONE") or defaults.timezone,
        quiet_hours=QuietHours.parse(get("KOTHA_QUIET_HOURS") or "21:00-08:00"),
        twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
        sms_from=get("KOTHA_SMS_FROM"),
        whatsapp_from=get("KOTHA_WHATSAPP_FROM"),
        twilio_api_url=get("KOTHA_TWILIO_API_URL"),
        telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
        telegram_secret=get("KOTHA_TELEGRAM_SECRET"),
        telegram_api_url=get("KOTHA_TELEGRAM_API_URL"),
        voice_office_hours=OfficeHours.parse(
            get("KOTHA_VOICE_OFFICE_HOURS") or str(defaults.voice_office_hours)
        ),
        voice_transfer_to=get("KOTHA_VOICE_TRANSFER_TO"),
        twilio_media_hosts=_hosts(get("KOTHA_TWILIO_MEDIA_HOSTS") or "")
        if get("KOTHA_TWILIO_MEDIA_HOSTS")
        else defaults.twilio_media_hosts,
        media_cache_mb=int(get("KOTHA_MEDIA_CACHE_MB") or defaults.media_cache_mb),
        media_max_mb=int(get("KOTHA_MEDIA_MAX_MB") or defaults.media_max_mb),
        media_timeout_seconds=float(
            get("KOTHA_MEDIA_TIMEOUT_SECONDS") or defaults.media_timeout_seconds
        ),
        resume_after_hours=float(get("KOTHA_RESUME_AFTER_HOURS") or defaults.resume_after_hours),
        conversation_expiry_hours=float(
            get("KOTHA_CONVERSATION_EXPIRY_HOURS") or defaults.conversation_expiry_hours
        ),
        sms_per_second=int(get("KOTHA_SMS_PER_SECOND") or defaults.sms_per_second),
        whatsapp_per_second=int(get("KOTHA_WHATSAPP_PER_SECOND") or defaults.whatsapp_per_second),
        telegram_per_second=int(get("KOTHA_TELEGRAM_PER_SECOND") or defaults.telegram_per_second),
        sms_segment_price=Decimal(get("KOTHA_SMS_SEGMENT_PRICE") or defaults.sms_segment_price),
        ombudsman_contact=(get("KOTHA_OMBUDSMAN_CONTACT") or defaults.ombudsman_contact).strip(),
        max_send_attempts=int(get("KOTHA_MAX_SEND_ATTEMPTS") or defaults.max_send_attempts),
        retry_base_seconds=float(get("KOTHA_RETRY_BASE_SECONDS") or defaults.retry_base_seconds),
        sweep_seconds=float(get("KOTHA_SWEEP_SECONDS") or defaults.sweep_seconds),
        whatsapp_templates=_templates(get("KOTHA_WHATSAPP_TEMPLATES") or ""),
        response_working_days=int(
            get("KOTHA_RESPONSE_WORKING_DAYS") or defaults.response_working_days
        ),
        interest_follow_up_working_days=int(
            get("KOTHA_INTEREST_FOLLOW_UP_WORKING_DAYS") or defaults.interest_follow_up_working_days
        ),
        safeguarding_alert_to=_recipients(
            get("KOTHA_SAFEGUARDING_ALERT_TO") or "", "KOTHA_SAFEGUARDING_ALERT_TO"
        ),
        digest_to=_recipients(get("KOTHA_DIGEST_TO") or "", "KOTHA_DIGEST_TO"),
        reminder_offsets=_offsets(get("KOTHA_REMINDER_OFFSETS") or "P7D,P1D"),
        proxy_count=int(get("KOTHA_PROXY_COUNT") or defaults.proxy_count),
        simulator=_simulator(get("KOTHA_SIMULATOR")),
        retention_conversations_months=_months(
            get("KOTHA_RETENTION_CONVERSATIONS_MONTHS"),
            "KOTHA_RETENTION_CONVERSATIONS_MONTHS",
            defaults.retention_conversations_months,
        ),
        retention_complaints_months=_months(
            get("KOTHA_RETENTION_COMPLAINTS_MONTHS"),
            "KOTHA_RETENTION_COMPLAINTS_MONTHS",
            defaults.retention_complaints_months,
        ),
        data_controller=get("KOTHA_DATA_CONTROLLER") or defaults.data_controller,
        data_controller_contact=(
            get("KOTHA_DATA_CONTROLLER_CONTACT") or defaults.data_controller_contact
        ),
        instance_dir=instance_dir,
        locales_dir=Path(get("KOTHA_LOCALES_DIR") or LOCALES_DIR),
        flows_dir=Path(get("KOTHA_FLOWS_DIR") or FLOWS_DIR),
        log_level=(get("KOTHA_LOG_LEVEL") or defaults.log_level).upper(),
        log_format=(get("KOTHA_LOG_FORMAT") or defaults.log_format).lower(),
        metrics_token=get("KOTHA_METRICS_TOKEN"),
        metrics_dir=Path(found) if (found := get("PROMETHEUS_MULTIPROC_DIR")) else None,
    )
