"""deploy/: the systemd units run commands that exist, and gunicorn's configuration serves Kotha."""

from __future__ import annotations

import configparser
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot import cli
from bot.cli.check import SHOWN
from bot.settings import CHECKS, REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
VENV_BIN = "/opt/kotha/venv/bin/"
# Where the README's guide installs gunicorn's configuration.
INSTALLED = {"/etc/kotha/gunicorn.conf.py": DEPLOY / "gunicorn.conf.py"}
BIN = Path(sys.executable).parent


def unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def commands(path: Path) -> list[list[str]]:
    service = unit(path)["Service"]
    return [
        shlex.split(service[key])
        for key in ("ExecStartPre", "ExecStart", "ExecReload", "ExecStop")
        if key in service
    ]


def test_there_is_a_web_and_a_worker_unit() -> None:
    assert [path.name for path in UNITS] == ["kotha-web.service", "kotha-worker.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_every_command_a_unit_runs_exists(path: Path) -> None:
    for command in commands(path):
        program, *args = command
        if program.startswith(VENV_BIN):
            name = program.removeprefix(VENV_BIN)
            assert (BIN / name).exists(), f"{path.name}: {name} is not installed with Kotha"
            if name == "kotha":
                cli.parser(lambda services: None).parse_args(args)  # type: ignore[arg-type,return-value]
            if name == "gunicorn":
                config = args[args.index("--config") + 1]
                assert INSTALLED[config].exists()
        else:
            assert Path(program).is_absolute() and Path(program).exists(), program
    service = unit(path)["Service"]
    assert service["User"] == "kotha" and service["WorkingDirectory"] == "/var/lib/kotha"
    assert service["EnvironmentFile"] == "/etc/kotha/kotha.env"


def test_the_worker_stops_gracefully() -> None:
    # Huey finishes the jobs under way on SIGINT; SIGTERM would cut sends short.
    assert unit(DEPLOY / "kotha-worker.service")["Service"]["KillSignal"] == "SIGINT"


def test_the_example_environment_names_only_known_settings() -> None:
    known = set(CHECKS) | {name for name, _ in SHOWN}
    lines = (DEPLOY / "kotha.env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert names and set(names) <= known, set(names) - known


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn(env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(INSTALLED["/etc/kotha/gunicorn.conf.py"]),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("KOTHA_", "TWILIO_", "TELEGRAM_"))
    }
    return {**env, "KOTHA_INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT), **more}


def test_gunicorn_serves_kotha_with_this_configuration(tmp_path: Path) -> None:
    env = _env(tmp_path, KOTHA_METRICS_TOKEN="m" * 20)
    subprocess.run([str(BIN / "kotha"), "db", "upgrade"], env=env, cwd=tmp_path, check=True)
    port = _free_port()
    server = _gunicorn(env, port, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=5
                ) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": "Bearer " + "m" * 20}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert b"kotha_inbound_waiting" in answer.read()
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_gunicorn_refuses_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    server = _gunicorn(_env(tmp_path, KOTHA_TIMEZONE="Mars/Base"), _free_port(), tmp_path)
    out, err = server.communicate(timeout=60)
    assert server.returncode != 0
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if "kotha:" in line] == [
        "kotha: KOTHA_TIMEZONE='Mars/Base': expected an IANA time zone name, e.g. Europe/London"
    ]
