"""Settings are checked in one place: a bad value is one line naming the variable and its form."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import settings as settings_module
from bot.settings import CHECKS, SECRETS, SettingError

KOTHA = str(Path(sys.executable).with_name("kotha"))


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("KOTHA_SMS_PER_SECOND", "ten", "a whole number above 0"),
        ("KOTHA_SMS_PER_SECOND", "0", "a whole number above 0"),
        ("KOTHA_TIMEZONE", "Mars/Base", "an IANA time zone name"),
        ("KOTHA_TIMEZONE", "../../etc/passwd", "an IANA time zone name"),
        ("KOTHA_QUIET_HOURS", "21-8", "HH:MM-HH:MM"),
        ("KOTHA_SMS_SEGMENT_PRICE", "four pence", "an amount in pounds"),
        ("KOTHA_RETRY_BASE_SECONDS", "nan", "a number of seconds above 0"),
        ("KOTHA_PROXY_COUNT", "-1", "0 or more"),
        ("KOTHA_LOG_FORMAT", "xml", "text or json"),
        ("KOTHA_LOG_LEVEL", "LOUD", "one of DEBUG"),
        ("KOTHA_DATABASE_URL", "kotha.db", "a SQLAlchemy URL"),
        ("KOTHA_REDIS_URL", "localhost:6379", "a Redis URL"),
        ("KOTHA_PUBLIC_URL", "kotha.example.org", "the public base URL"),
        ("KOTHA_REMINDER_OFFSETS", "soon", "durations above zero"),
        ("KOTHA_OMBUDSMAN_CONTACT", "lgo.org.uk \u2013 0300 061 0614", "plain characters"),
        ("KOTHA_OMBUDSMAN_CONTACT", "x" * 61, "up to 60 plain characters"),
        ("KOTHA_OMBUDSMAN_CONTACT", "a`b", "plain characters"),
    ],
)
def test_a_bad_value_names_its_variable_and_form(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingError) as raised:
        settings_module.load({name: value, "KOTHA_INSTANCE_DIR": str(tmp_path)})
    message = str(raised.value)
    assert message.startswith(name) and expected in message and "\n" not in message


def test_a_secret_is_never_repeated_back(tmp_path: Path) -> None:
    with pytest.raises(SettingError) as raised:
        settings_module.load(
            {"KOTHA_METRICS_TOKEN": "hunter2", "KOTHA_INSTANCE_DIR": str(tmp_path)}
        )
    assert "hunter2" not in str(raised.value)
    database = "postgresql+psycopg://kotha:s3cr3t@db:notaport/kotha"
    with pytest.raises(SettingError) as raised:
        settings_module.load({"KOTHA_DATABASE_URL": database, "KOTHA_INSTANCE_DIR": str(tmp_path)})
    assert "s3cr3t" not in str(raised.value)


def test_good_values_load(tmp_path: Path) -> None:
    loaded = settings_module.load(
        {
            "KOTHA_INSTANCE_DIR": str(tmp_path),
            "KOTHA_SMS_PER_SECOND": " 100 ",
            "KOTHA_TIMEZONE": "Asia/Dhaka",
            "KOTHA_LOG_LEVEL": "debug",
            "KOTHA_LOG_FORMAT": "JSON",
            "KOTHA_METRICS_TOKEN": "x" * 16,
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
    )
    assert loaded.sms_per_second == 100 and loaded.timezone == "Asia/Dhaka"
    assert (loaded.log_level, loaded.log_format) == ("DEBUG", "json")
    assert loaded.metrics_dir == tmp_path / "metrics"


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(CHECKS)), value=st.text(max_size=40))
def test_any_value_loads_or_is_named(
    tmp_path_factory: pytest.TempPathFactory, name: str, value: str
) -> None:
    """Whatever is typed, the answer is the settings or one line naming the variable."""
    instance = tmp_path_factory.getbasetemp() / "instance"
    try:
        settings_module.load({name: value, "KOTHA_INSTANCE_DIR": str(instance)})
    except SettingError as error:
        assert str(error).startswith(name)
        assert "\n" not in str(error)
        # A secret of a letter or two may happen to be in the message's own words ("1" in
        # "16 characters"): only values long enough to be a secret are looked for.
        if name in SECRETS and len(value.strip()) >= 4:
            assert value.strip() not in str(error)


@pytest.mark.parametrize(
    ("variable", "value"), [("KOTHA_SMS_PER_SECOND", "ten"), ("KOTHA_TIMEZONE", "Mars/Base")]
)
def test_the_command_says_one_line_and_no_traceback(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = {**os.environ, "KOTHA_INSTANCE_DIR": str(tmp_path), variable: value}
    done = subprocess.run(
        [KOTHA, "check"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"kotha: {variable}=") and "expected" in line


def test_the_ombudsman_contact_has_a_default_and_can_be_set(tmp_path: Path) -> None:
    instance = {"KOTHA_INSTANCE_DIR": str(tmp_path)}
    assert settings_module.load(instance).ombudsman_contact == "lgo.org.uk, 0300 061 0614"
    given_contact = {**instance, "KOTHA_OMBUDSMAN_CONTACT": " www.lgo.org.uk, 0300 061 0614 "}
    assert settings_module.load(given_contact).ombudsman_contact == "www.lgo.org.uk, 0300 061 0614"
