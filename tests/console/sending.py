"""Send staff's words to a person as the console asks: see them first, then send them.

Every form that sends staff's words to one person shows, on its first submit, what the
person will receive and sends nothing; the second submit carries the digest of what was
shown (console/previews.py).
"""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PREVIEWED = re.compile(r'name="previewed" value="([0-9a-f]{64})"')
NOT_SENT = "Nothing has been sent yet"


def previewed(page: str) -> str:
    """The digest of what a preview showed, as its form carries it."""
    found = PREVIEWED.search(page)
    assert found is not None, "the page shows no preview"
    return found.group(1)


def post_seen(client: FlaskClient, url: str, data: dict[str, str]) -> TestResponse:
    """Post the form to see what the person will receive, then post it again to send it.

    A refusal, or a change that sends no message (so shows none), is returned as it came.
    """
    shown = client.post(url, data=data)
    if shown.status_code != 200 or NOT_SENT not in shown.text:
        return shown
    return client.post(url, data={**data, "previewed": previewed(shown.text)})
