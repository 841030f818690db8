"""Reading the project's YAML files, with libyaml's C parser where PyYAML has it.

The examples the understanding learns from are thousands of lines: the pure-Python parser
takes seconds over them at every start, the C one a fraction of that. Both give the same
plain data (safe loading: no Python objects from the file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The data in the YAML file at `path` (UTF-8)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - safe loader
