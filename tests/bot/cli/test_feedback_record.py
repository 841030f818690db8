"""`kotha feedback record`: feedback taken on someone's behalf, typed at the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KOTHA = str(Path(sys.executable).with_name("kotha"))
WORDS = "চিঠিতে লিখেছেন: the carer never stays the full hour. 😞"


def kotha(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KOTHA, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


def environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "KOTHA_INSTANCE_DIR": str(tmp_path), "KOTHA_QUIET_HOURS": "00:00-00:00"}
    env.pop("KOTHA_DATABASE_URL", None)
    made = kotha(
        env,
        "users",
        "create",
        "--email",
        "clerk@example.org",
        "--role",
        "staff",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert made.returncode == 0, made.stderr
    return env


def test_a_letter_is_kept_counted_and_its_update_becomes_a_task(tmp_path: Path) -> None:
    env = environment(tmp_path)
    kept = kotha(
        env,
        "feedback",
        "record",
        "--kind",
        "complaint",
        "--channel",
        "letter",
        "--language",
        "bn",
        "--text",
        "-",
        "--service",
        "home_care",
        "--postal-address",
        "3 Brick Lane, London E1",
        "--updates",
        "letter",
        "--consent",
        "yes",
        "--by",
        "clerk@example.org",
        stdin=WORDS,
    )
    assert kept.returncode == 0, kept.stderr
    reference, rest = kept.stdout.strip().split(": ", 1)
    assert reference.startswith("C-") and rest.endswith("updates as staff tasks to write to them")

    [record] = json.loads(kotha(env, "export", "feedback", "--format", "json").stdout)
    assert (record["reference"], record["channel"], record["kind"]) == (
        reference,
        "letter",
        "complaint",
    )
    assert record["text"] == WORDS and record["language"] == "bn"

    updated = kotha(env, "feedback", "update", reference, "--status", "acknowledged")
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.strip() == f"{reference}: acknowledged; staff task 1 opened to tell them"
    # Nothing was sent, nor tried: no message row failed for want of a sender.
    assert kotha(env, "messages", "failed").stdout.strip().splitlines()[1:] == []


def test_bad_input_is_refused_field_by_field_and_nothing_is_kept(tmp_path: Path) -> None:
    env = environment(tmp_path)
    refused = kotha(
        env,
        "feedback",
        "record",
        "--kind",
        "comment",
        "--channel",
        "phone",
        "--language",
        "fr",
        "--text",
        "   ",
        "--service",
        "home_care",
        "--phone",
        "not a phone",
        "--updates",
        "sms",
        "--consent",
        "yes",
        "--by",
        "clerk@example.org",
    )
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert lines[-1] == "nothing was saved"
    assert any(line.startswith("--language: Choose their language: en, bn") for line in lines)
    assert "--text: Write down what they said, in their words" in lines
    assert any(line.startswith("--phone: Enter a real phone number") for line in lines)
    assert json.loads(kotha(env, "export", "feedback", "--format", "json").stdout) == []

    nobody = kotha(
        env,
        "feedback",
        "record",
        "--kind",
        "compliment",
        "--channel",
        "in_person",
        "--language",
        "en",
        "--text",
        "Lovely staff",
        "--service",
        "day_centre",
        "--updates",
        "none",
        "--consent",
        "no",
        "--by",
        "nobody@example.org",
    )
    assert nobody.returncode == 2
    assert nobody.stderr.strip() == "--by: no account for nobody@example.org"
    assert json.loads(kotha(env, "export", "feedback", "--format", "json").stdout) == []
