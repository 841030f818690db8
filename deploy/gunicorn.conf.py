"""gunicorn's configuration for Kotha's web processes (installed as /etc/kotha/gunicorn.conf.py).

Kotha's own settings come from the environment (the unit's EnvironmentFile); this file says
only how gunicorn serves the app. Its hooks check those settings once before any worker
starts, and tell prometheus-client when a worker has gone.
"""

from __future__ import annotations

import sys
from typing import Any

wsgi_app = "kotha:create_app()"
# The reverse proxy on the same host forwards here; nothing else should reach it.
bind = "127.0.0.1:8000"
# Sync workers: a webhook is one short database write (bench/README.md measures it), and
# console pages are quick reads. About two per core; more only if the proxy queues requests.
workers = 4
worker_class = "sync"
# A webhook is answered in milliseconds; a worker silent this long is stuck and replaced.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Replace each worker now and then, so slow growth of memory never builds up.
max_requests = 2000
max_requests_jitter = 200
# Only the proxy on this host may say what the scheme and client were (KOTHA_PROXY_COUNT
# makes the app trust its X-Forwarded-* headers; this keeps gunicorn's view the same).
forwarded_allow_ips = "127.0.0.1"
# Kotha's lines go to standard error and so to the journal, formatted by KOTHA_LOG_FORMAT.
# No access log here: the paths of personal calendar feeds (/events/<token>.ics) are
# secrets; the proxy's log, if kept, should leave them out as well.
errorlog = "-"
accesslog = None


def on_starting(server: Any) -> None:
    """Stop before forking workers when a setting cannot be used, in one line naming it."""
    from bot.settings import SettingError, load

    try:
        load()
    except SettingError as error:
        print(f"kotha: {error}", file=sys.stderr, flush=True)
        sys.exit(2)


def child_exit(server: Any, worker: Any) -> None:
    """A worker has gone: its live gauges stop counting (its counters are kept)."""
    from bot.settings import load

    directory = load().metrics_dir
    if directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(directory))
