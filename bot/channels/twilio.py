"""Sends SMS and WhatsApp messages through Twilio's REST API with the official SDK."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from bot.channels.base import (
    ClosingSender,
    MisconfiguredError,
    OutcomeUnknownError,
    RecipientStoppedError,
    RejectedError,
    SendError,
    ThrottledError,
    TransientError,
)
from bot.types import OutboundMessage, SendReceipt

log = logging.getLogger(__name__)

WHATSAPP_PREFIX = "whatsapp:"
MESSAGING_SERVICE_PREFIX = "MG"

# Twilio error codes (https://www.twilio.com/docs/api/errors) that say more than the HTTP
# status does. Every other 4xx is a refusal of this one message.
STOPPED_CODES = frozenset({21610})  # the person texted STOP to this sender
THROTTLED_CODES = frozenset(
    {
        20429,  # too many requests
        14107,  # SMS send rate limit exceeded
        21611,  # this From has too many messages queued
        63018,  # WhatsApp rate limit for the channel
    }
)
MISCONFIGURED_CODES = frozenset(
    {
        10001,  # account not active
        20003,  # authentication failed
        20404,  # no such account or resource: wrong SID or API URL
        21212,  # invalid From
        21408,  # sending to this region is not enabled on the account
        21606,  # From cannot send messages to this destination
        21659,  # From is not a Twilio number
        21660,  # From belongs to another account
        63007,  # no WhatsApp sender with this From
    }
)
# Kept as plain refusals on purpose: 63016 (WhatsApp, outside the 24-hour window: only a
# template may be sent, the person is not stopped) and 63024 (not a WhatsApp user).


class TwilioSender(ClosingSender):
    """Sends one rendered message over SMS or WhatsApp and maps Twilio's errors to ours.

    One sender keeps one SDK Client, whose requests session pools connections; it is safe
    to share across threads because nothing is mutated after construction and urllib3's
    pool is thread-safe. Call close() when done with it.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sms_from: str | None,
        whatsapp_from: str | None,
        api_url: str | None = None,
        status_callback: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._sms_from = (sms_from or "").strip() or None
        self._whatsapp_from = _whatsapp_sender((whatsapp_from or "").strip() or None)
        self._status_callback = status_callback
        # A request Twilio did not answer within `timeout` may still be in its hands: it is
        # looked up no sooner than twice that again, so a slow acceptance is found.
        self._look_after = 2 * timeout
        # A response hook remembers, per thread, the headers of the last response: the SDK's
        # TwilioRestException drops them, and a 429's Retry-After lives there.
        self._local = threading.local()
        self._http = TwilioHttpClient(
            timeout=timeout, request_hooks={"response": [self._remember_headers]}
        )
        self._client = Client(account_sid, auth_token, http_client=self._http)
        # The SDK reads TWILIO_EDGE and TWILIO_REGION from os.environ and rewrites hostnames
        # with them; in Kotha only bot.settings reads the environment.
        self._client.edge = None
        self._client.region = None
        if api_url:
            # Every SDK request goes to f"{domain.base_url}/{version}/{path}", and the Messages
            # resource lives on the "api" domain (https://api.twilio.com), so pointing that
            # domain's public base_url elsewhere moves exactly the calls we make, auth and all.
            self._client.api.base_url = api_url.rstrip("/")
        # Built once here: the SDK creates its resource objects lazily, and doing so now means
        # threads never race to create them.
        self._messages = self._client.messages

    def send(self, message: OutboundMessage) -> SendReceipt:
        """Send the message's text, returning Twilio's message SID, or raise a SendError."""
        to, sender = self._route(message)
        fields: dict[str, Any] = {"to": to}
        if message.template is not None:
            # An approved WhatsApp template and its named variables, as a JSON object
            # (https://www.twilio.com/docs/content/using-variables-with-content-api); no Body.
            fields["content_sid"] = message.template
            variables = dict(message.variables or {})
            fields["content_variables"] = json.dumps(variables, ensure_ascii=False)
        else:
            fields["body"] = message.text
        if sender.startswith(MESSAGING_SERVICE_PREFIX):
            fields["messaging_service_sid"] = sender
        else:
            fields["from_"] = sender
        if self._status_callback:
            fields["status_callback"] = self._status_callback
        self._local.headers = None
        try:
            created = self._messages.create(**fields)
        except (TwilioRestException, TwilioServiceException) as error:
            # Twilio's own message may quote the phone number, so it is not chained on.
            raise self._mapped(error.status, error.code) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
        ) as error:
            raise MisconfiguredError(f"bad Twilio API URL: {type(error).__name__}") from error
        except requests.RequestException as error:
            if not _request_written(error):
                raise TransientError(f"Twilio unreachable: {type(error).__name__}") from error
            # A read timeout, or the connection lost after the request went: Twilio may well
            # have accepted the message, so it is looked up before it is sent again.
            raise OutcomeUnknownError(
                f"Twilio did not answer: {type(error).__name__}", look_after=self._look_after
            ) from error
        except ValueError as error:
            # A 2xx whose body is not JSON: accepted, perhaps, so the same as a timeout.
            raise OutcomeUnknownError(
                f"Twilio answered oddly: {type(error).__name__}", look_after=self._look_after
            ) from error
        if not created.sid:
            raise TransientError("Twilio accepted the message but gave no SID")
        log.debug("twilio sent message %s as %s", message.id, created.sid)
        return SendReceipt(provider_id=created.sid)

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendReceipt | None:
        """Ask Twilio whether this message already went out (a worker died mid-send).

        Twilio has no idempotency key for messages, so a row whose worker died between
        Twilio's answer and recording it is looked up by number, sender and text among the
        messages sent since its claim. None when Twilio has no such message: the row is then
        sent. A template's text is found only when it was registered in the words Kotha
        renders it in (as the README says to), since Twilio lists the words it sent.
        """
        to, sender = self._route(message)
        filters: dict[str, Any] = {"to": to, "date_sent_after": since, "limit": 50}
        if not sender.startswith(MESSAGING_SERVICE_PREFIX):
            filters["from_"] = sender
        for listed in self._list(**filters):
            if listed.body == message.text and listed.sid:
                return SendReceipt(provider_id=listed.sid)
        return None

    def probe(self) -> str:
        """Ask Twilio for one page of this account's messages: proves the URL and credentials.

        Raises the SendError a send would (MisconfiguredError for wrong credentials).
        """
        self._list(limit=1)
        return "the API answered and took the credentials"

    def _list(self, **filters: Any) -> list[Any]:
        """One page of this account's messages; Twilio's refusals as our SendErrors."""
        try:
            return list(self._messages.list(**filters))
        except (TwilioRestException, TwilioServiceException) as error:
            raise self._mapped(error.status, error.code) from None
        except TwilioException as error:
            raise self._page_refused(error) from None
        except requests.RequestException as error:
            raise TransientError(f"Twilio unreachable: {type(error).__name__}") from error

    def close(self) -> None:
        """Close the pooled connections."""
        if self._http.session is not None:
            self._http.session.close()

    def _route(self, message: OutboundMessage) -> tuple[str, str]:
        """Return (to, sender) for the message's channel."""
        if message.channel == "sms":
            if not self._sms_from:
                raise MisconfiguredError("no SMS sender: set KOTHA_SMS_FROM")
            return message.address, self._sms_from
        if message.channel == "whatsapp":
            if not self._whatsapp_from:
                raise MisconfiguredError("no WhatsApp sender: set KOTHA_WHATSAPP_FROM")
            to = message.address
            if not to.startswith(WHATSAPP_PREFIX):
                to = WHATSAPP_PREFIX + to
            return to, self._whatsapp_from
        raise MisconfiguredError(f"Twilio does not send on {message.channel}")

    def _remember_headers(
        self, response: requests.Response, *args: object, **kwargs: object
    ) -> None:
        self._local.headers = response.headers

    def _page_refused(self, error: TwilioException) -> SendError:
        """A list of messages refused: the SDK's page reader raises a bare TwilioException
        carrying the response, not a TwilioRestException with the status."""
        response = error.args[1] if len(error.args) > 1 else None
        status = getattr(response, "status_code", 0)
        return self._mapped(status if isinstance(status, int) else 0, None)

    def _mapped(self, status: int, code: int | None) -> SendError:
        text = f"Twilio HTTP {status}, error {code}"
        if code in STOPPED_CODES:
            return RecipientStoppedError(text)
        if status == 429 or code in THROTTLED_CODES:
            headers: Mapping[str, str] | None = getattr(self._local, "headers", None)
            return ThrottledError(text, retry_after=_retry_after(headers))
        if status in (401, 403, 404) or code in MISCONFIGURED_CODES:
            return MisconfiguredError(text)
        if status >= 500:
            return TransientError(text)
        if 400 <= status < 500:
            return RejectedError(text)
        # A redirect or other oddity: the API URL points somewhere that is not Twilio.
        return MisconfiguredError(text)


def delivery_error(code: str | None) -> SendError | None:
    """The error a status callback's ErrorCode stands for, where it changes what happens next.

    A throttle (63018, WhatsApp's rate limit) reported after Twilio accepted the message is
    retried as the send path retries it; 21610 says the person texted STOP to this sender.
    Other codes end the message as failed with the code as its reason (None here).
    """
    if code is None or not code.isascii() or not code.isdigit():
        return None
    number = int(code)
    if number in STOPPED_CODES:
        return RecipientStoppedError(f"Twilio error {number}")
    if number in THROTTLED_CODES:
        return ThrottledError(f"Twilio error {number}")
    return None


def _request_written(error: requests.RequestException) -> bool:
    """Whether the request may have reached Twilio before `error`: only a failure to connect
    (refused, no route, the name unknown, TLS refused, the connect timing out) says it did not.
    """
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(error, requests.exceptions.ProxyError):
        return False
    if isinstance(error, requests.ConnectionError):
        # requests wraps urllib3's MaxRetryError, whose reason is NewConnectionError (a
        # ConnectTimeoutError) when no connection was made at all.
        cause = error.args[0] if error.args else None
        return not isinstance(getattr(cause, "reason", None), ConnectTimeoutError)
    return True


def _whatsapp_sender(value: str | None) -> str | None:
    if value is None or value.startswith((WHATSAPP_PREFIX, MESSAGING_SERVICE_PREFIX)):
        return value
    return WHATSAPP_PREFIX + value


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Read Retry-After in seconds; Twilio sends seconds, so an HTTP date is ignored."""
    value = (headers or {}).get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
