"""A phone in the browser: talk to the bot as an SMS, WhatsApp or Telegram user."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.services import services
from bot.types import CHANNELS, InboundMessage
from storage.models import Address, Message

blueprint = Blueprint("simulator", __name__, template_folder="templates")

# Simulated people get addresses that no provider would route, so nothing the simulator
# says can reach a real phone whatever the senders are.
PREFIX = "sim:"
MAX_SHOWN = 200


def _address(raw: str | None) -> str:
    value = (raw or "").strip()
    if not value.startswith(PREFIX) or not 5 <= len(value) <= 40 or not value.isprintable():
        return ""
    return value


def _transcript(channel: str, address: str) -> list[Message]:
    with services().database.session() as session:
        address_id = session.scalar(
            select(Address.id).where(Address.channel == channel, Address.address == address)
        )
        if address_id is None:
            return []
        rows = session.scalars(
            select(Message)
            .where(Message.address_id == address_id)
            .order_by(Message.id.desc())
            .limit(MAX_SHOWN)
        ).all()
        return list(reversed(rows))


@blueprint.get("/simulator")
def page() -> Any:
    channel = request.args.get("channel", "sms")
    if channel not in CHANNELS:
        channel = "sms"
    address = _address(request.args.get("as"))
    if not address:
        address = f"{PREFIX}{secrets.token_hex(4)}"
        return redirect(url_for("simulator.page", channel=channel, **{"as": address}))
    return render_template(
        "simulator.html",
        channel=channel,
        channels=CHANNELS,
        address=address,
        messages=_transcript(channel, address),
    )


@blueprint.post("/simulator")
def send() -> Response:
    channel = request.form.get("channel", "")
    address = _address(request.form.get("as"))
    if channel not in CHANNELS or not address:
        abort(400, "Choose a channel and keep the simulator's address.")
    text = request.form.get("text", "")
    services().runner.receive(InboundMessage(channel=channel, address=address, text=text))  # type: ignore[arg-type]
    return redirect(url_for("simulator.page", channel=channel, **{"as": address}) + "#latest")
