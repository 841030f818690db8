"""The layering contracts in pyproject.toml hold, and they would catch an import going up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_from_bot_up_into_the_console_breaks_the_first_contract(
    tmp_path: Path,
) -> None:
    # A tree with Kotha's top-level packages, where bot/ imports the console.
    for package in ("bot", "webhooks", "console", "flows", "storage"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "console" / "pages.py").write_text("PAGES = 1\n")
    (tmp_path / "bot" / "app.py").write_text("from console.pages import PAGES\n")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    linter = project["tool"]["importlinter"]
    [layers] = [c for c in linter["contracts"] if c.get("layers", [""])[0] == "webhooks | console"]
    config = tmp_path / "contracts.toml"
    config.write_text(
        "[tool.importlinter]\n"
        f"root_packages = {json.dumps(linter['root_packages'])}\n"
        "[[tool.importlinter.contracts]]\n"
        f"name = {json.dumps(layers['name'])}\n"
        'type = "layers"\n'
        f"layers = {json.dumps(layers['layers'])}\n"
    )
    result = lint_imports(config, tmp_path)
    assert result.returncode != 0
    assert "bot.app -> console.pages" in result.stdout
