"""`kotha feedback update` and `kotha messages failed`, run as a person at the terminal would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KOTHA = str(Path(sys.executable).with_name("kotha"))


def kotha(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KOTHA, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


def test_updating_feedback_tells_the_person_or_says_why_not(tmp_path: Path) -> None:
    # An empty quiet window, so the outcome is the same at any hour the test runs.
    env = {**os.environ, "KOTHA_INSTANCE_DIR": str(tmp_path), "KOTHA_QUIET_HOURS": "00:00-00:00"}
    env.pop("KOTHA_DATABASE_URL", None)
    complaint = "1\n1\n1\nThe carer did not come.\nSKIP\n2\n1\n"
    assert kotha(env, "chat", stdin="hi\n" + complaint).returncode == 0
    [record] = json.loads(kotha(env, "export", "feedback", "--format", "json").stdout)

    updated = kotha(env, "feedback", "update", record["reference"], "--status", "resolved")

    # Embedded, with no Twilio account, there is no way to text the person: said plainly.
    assert updated.returncode == 0
    # Each message is shown first as the person reads it, with its cost; a decided complaint
    # is followed by how to take it further (the ombudsman).
    assert updated.stdout.startswith("message 1: 1 text message (GSM-7), £0.04\n")
    assert "Local Government and Social Care Ombudsman" in updated.stdout
    assert updated.stdout.strip().splitlines()[-1] == (
        f"{record['reference']}: resolved; update failed (no-sender); "
        "how to take it further failed (no-sender)"
    )
    [after] = json.loads(kotha(env, "export", "feedback", "--format", "json").stdout)
    assert after["status"] == "resolved"
    # The export carries the lifecycle: resolving reached the acknowledgement and the decision.
    assert after["acknowledged_at"] == after["decided_at"] is not None
    assert after["in_progress_at"] is None and after["closed_at"] is None
    assert after["respond_by"] > after["acknowledge_by"] > after["created_at"][:10]
    failed = kotha(env, "messages", "failed").stdout.splitlines()
    assert len(failed) == 3 and failed[1].split()[1:3] == ["sms", "failed"]
    assert "no-sender" in failed[1] and "+44" not in "".join(failed)


def test_bad_reference_and_status_are_refused_clearly(tmp_path: Path) -> None:
    # An empty quiet window, so the outcome is the same at any hour the test runs.
    env = {**os.environ, "KOTHA_INSTANCE_DIR": str(tmp_path), "KOTHA_QUIET_HOURS": "00:00-00:00"}
    env.pop("KOTHA_DATABASE_URL", None)
    unknown = kotha(env, "feedback", "update", "C-000000", "--status", "resolved")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "no feedback with reference C-000000",
    )
    kotha(env, "chat", stdin="hi\n1\n2\n1\nGood.\n")
    [record] = json.loads(kotha(env, "export", "feedback", "--format", "json").stdout)
    wrong = kotha(env, "feedback", "update", record["reference"], "--status", "done")
    assert wrong.returncode == 2 and "status must be one of" in wrong.stderr
    same = kotha(env, "feedback", "update", record["reference"], "--status", "received")
    assert same.returncode == 2 and "is already received" in same.stderr


def test_the_words_to_register_as_whatsapp_templates_are_printed(tmp_path: Path) -> None:
    env = {**os.environ, "KOTHA_INSTANCE_DIR": str(tmp_path)}
    env.pop("KOTHA_DATABASE_URL", None)
    printed = kotha(env, "messages", "templates")
    assert printed.returncode == 0
    lines = printed.stdout.splitlines()
    keys = lines[0::2]
    kinds = ("case_update", "reminder", "broadcast", "staff_reply")
    languages = ("en", "bn", "syl", "syl-Latn", "syl-Sylo")
    assert keys == [f"{kind}.{language}" for kind in kinds for language in languages]
    words = dict(zip(keys, (line.strip() for line in lines[1::2]), strict=True))
    assert words["case_update.en"] == "Update on your {{kind}} {{reference}}: {{status}}"
    assert words["reminder.bn"].startswith("মনে করিয়ে দিচ্ছি: {{title}}, {{when}}, {{place}}")
    assert words["staff_reply.syl-Latn"] == "Tower Hamlets Council afnare jobab dise: {{text}}"
