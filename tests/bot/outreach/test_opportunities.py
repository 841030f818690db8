"""Scratch."""
from bot.outreach import opportunities
from tests.conftest import Bot


def test_smoke(bot: Bot) -> None:
    with bot.services.database.session() as session:
        assert opportunities.seed(session, bot.services.clock()) == 17
    for r in bot.conversation("+447700900111", "hi", "5", "1", "7", "1", "1", "2", "5"):
        print("----\n" + r)
    for r in bot.conversation("+447700900112", "হ্যালো", "৫", "২", "৭", "1"):
        print("----\n" + r)
    assert 0
