"""`kotha understand`: what the bot makes of a message, as JSON, one object a line."""

from __future__ import annotations

import io
import json

import pytest

from bot.cli import main


def test_one_message_is_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["understand", "please stop texting me"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["intent"] == "stop" and found["language"] == "en"
    assert 0 <= found["confidence"] <= 1 and found["why"]
    assert set(found) == {"intent", "language", "confidence", "why", "safeguarding"}
    assert found["safeguarding"] is None


def test_without_text_each_line_of_input_is_one_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "i want to complain about my carer\nআর মেসেজ পাঠাবেন না\n\nꠀꠝꠤ ꠇꠕꠣ ꠇꠁꠔꠣꠝ\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["understand"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["intent"] for f in found[:2]] == ["complaint", "stop"]
    assert found[2] == {
        "intent": "none",
        "language": None,
        "confidence": 1.0,
        "why": [],
        "safeguarding": None,
    }
    assert found[3]["language"] == "syl-Sylo"
    # Written as it is, not escaped: reviewers read the Bengali why.
    assert "মেসেজ" in json.dumps(found[1], ensure_ascii=False)


def test_harm_is_reported_with_the_words_that_decided(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["understand", "I want to die, stop texting me"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["intent"] == "stop"
    assert found["safeguarding"] == {"category": "self_harm", "why": ["want to die"]}
