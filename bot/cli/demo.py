"""Demo conversations for a fresh embedded install, so the simulator and exports show something."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.outreach import opportunities
from bot.services import Services
from bot.types import InboundMessage
from storage.models import Contact

# Each is one simulated person's messages, walked through the real runner and flows.
DEMO_CONVERSATIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "sms",
        "sim:de000001",
        ("Hello", "2", "1", "1", "কেয়ারার আজকেও দেরিতে এসেছেন।", "SKIP", "2", "1"),
    ),
    ("whatsapp", "sim:de000002", ("Hi", "1", "3", "2", "The day centre staff are so kind.")),
    ("telegram", "sim:de000003", ("start", "4", "4", "1", "1", "2", "Short notice meetings")),
    ("sms", "sim:de000004", ("salam", "4", "5", "1", "1", "1", "1", "5")),
)


def seed_demo(services: Services) -> bool:
    """Run the demo conversations once, on an empty database; return whether it did."""
    with services.database.session() as session:
        if session.scalar(select(func.count()).select_from(Contact)):
            return False
        # The demo's person who gets involved chooses from the ways to take part.
        opportunities.seed(session, services.clock())
    for channel, address, texts in DEMO_CONVERSATIONS:
        for text in texts:
            received = services.runner.receive(
                InboundMessage(channel=channel, address=address, text=text),  # type: ignore[arg-type]
                process_now=True,
            )
            # Simulated people's replies are delivered at once, as the simulator does.
            for message_id in received.outbound_ids:
                services.dispatcher.deliver(message_id)
    return True
