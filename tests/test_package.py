"""The built wheel installs and runs outside the checkout.

The checkout (with its compiled catalogs and console assets, as `make setup` leaves it) is
copied to a temporary folder and built into a wheel there; the wheel is installed into a
new virtual environment in another temporary folder, and Kotha is run from a third, with
nothing of the checkout on its path. Its dependencies come from this environment's
site-packages through a .pth file, rather than from PyPI: the test proves what the wheel
holds, not the network (the editable install of Kotha that environment holds is a finder
a plain path line never activates; the test checks that `bot` came from the new one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT

pytestmark = pytest.mark.slow
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "instance",
    "tests",
    "bench",
    "node_modules",
    "__pycache__",
    "*.egg-info",
    ".*_cache",
    ".hypothesis",
)
TIMEOUT = 300


def _run(command: list[str], cwd: Path, env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel built from this checkout installed in it."""
    source = tmp_path_factory.mktemp("source") / "kotha"
    shutil.copytree(REPO_ROOT, source, ignore=IGNORED)
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip"]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # This environment's setuptools (the dev extra asks for the version pyproject.toml
    # needs), so the build needs no index.
    build = ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist)]
    _run([*pip, *build, str(source)], dist, env)
    [wheel] = dist.glob("kotha-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "locales/languages.yaml",
        "locales/bn/LC_MESSAGES/messages.mo",
        "flows/definitions/menu.yaml",
        "console/templates/simulator.html",
        "console/static/fonts/NotoSansBengali-Regular.ttf",
        "console/static/govuk/govuk-frontend.min.css",
        "storage/migrations/versions/0001_initial_schema.py",
        "kotha.py",
    ):
        assert expected in names, expected
    assert not any(name.startswith(("tests/", "bench/", "console/static-src/")) for name in names)

    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv, env)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "kotha-dependencies.pth").write_text(ours + "\n")
    _run(
        [*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        venv,
        env,
    )
    return venv


def _clean_env(home: Path) -> dict[str, str]:
    kept = {name: value for name, value in os.environ.items() if name in ("PATH", "LANG", "LC_ALL")}
    return {**kept, "HOME": str(home)}


def test_the_wheel_runs_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    kotha = str(installed / "bin" / "kotha")
    python = str(installed / "bin" / "python")
    env = _clean_env(tmp_path)

    where = _run(
        [python, "-c", "import bot, kotha; print(bot.__file__, kotha.__file__)"], tmp_path, env
    )
    assert all(path.startswith(str(installed)) for path in where.split()), where
    assert _run([kotha, "--version"], tmp_path, env).strip() == "kotha 0.1.0"
    assert _run([kotha, "db", "upgrade"], tmp_path, env).startswith("database upgraded from empty")
    assert (tmp_path / "instance" / "kotha.db").exists()  # beside where it was started
    assert _run([kotha, "db", "current"], tmp_path, env).endswith("(up to date)\n")

    transcript = _run([kotha, "chat"], tmp_path, env, stdin="hi\n2\n")
    assert "1 English" in transcript and "বাংলা" in transcript
    # 2 chose Bengali: the menu came from the installed Bengali catalog.
    assert "অভিযোগ" in transcript.split("\n\n", 1)[1], transcript

    static = _run(
        [
            python,
            "-c",
            "from kotha import create_app\n"
            "client = create_app().test_client()\n"
            "for path in ('/console/static/fonts/NotoSansSylotiNagri-Regular.ttf',"
            " '/console/static/govuk/govuk-frontend.min.css',"
            " '/events?lang=syl-Sylo', '/healthz'):\n"
            "    print(path, client.get(path).status_code)\n",
        ],
        tmp_path,
        env,
    )
    assert [line.split()[1] for line in static.splitlines()] == ["200"] * 4, static
