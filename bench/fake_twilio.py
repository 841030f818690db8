"""The fake Twilio API (tests/fakes/twilio_api.py) in a child process, for the benchmarks.

It runs apart so that its arrival stamps are not held up by the benchmark's own threads;
time.monotonic() is the same clock in both processes on Linux.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_MAIN = """
import json, sys
sys.path.insert(0, {root!r})
from tests.fakes.twilio_api import FakeTwilio
with FakeTwilio(*{credentials!r}) as fake:
    print(json.dumps([fake.url, fake.account_sid, fake.auth_token]), flush=True)
    for line in sys.stdin:
        if not line.startswith("count "):
            break
        prefix = line.split()[1]
        print(len({{m.address for m in fake.sent if m.address.startswith(prefix)}}), flush=True)
    print(json.dumps([[m.at, m.address, m.body, m.num_segments] for m in fake.sent]), flush=True)
"""


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic() at the fake
    address: str
    body: str
    segments: int


class FakeTwilioProcess:
    """The fake in a child process; `arrivals()` stops it and returns what reached it."""

    def __init__(self, *credentials: str) -> None:
        """`credentials`: the account SID and auth token it accepts (its own by default)."""
        self.process = subprocess.Popen(
            [sys.executable, "-c", _MAIN.format(root=str(ROOT), credentials=credentials)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url, self.account_sid, self.auth_token = json.loads(self.process.stdout.readline())

    def count(self, prefix: str) -> int:
        """How many addresses starting with `prefix` have had a message."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"count {prefix}\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def arrivals(self) -> list[Arrival]:
        output, _ = self.process.communicate("stop\n", timeout=60)
        return [Arrival(*item) for item in json.loads(output)]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
