"""The console's navigation: each page's endpoint and label, shown to the roles that may open it.

A new console page adds one line here, in the order staff should meet it.
"""

from __future__ import annotations

NAVIGATION: tuple[tuple[str, str], ...] = (
    ("console.home", "Home"),
    ("console.moderation", "Moderation"),
    ("console.cases", "Cases"),
    ("console.feedback_new", "Record feedback"),
    ("console.task_list", "Tasks"),
    ("console.voice_prompts", "Voice line prompts"),
    ("console.translations", "Awaiting translation"),
    ("console.inbox", "Conversations"),
    ("console.interests_queue", "Taking part"),
    ("console.opportunities_list", "Ways to take part"),
    ("console.calendar", "Calendar"),
    ("console.broadcasts", "Broadcasts"),
    ("console.you_said", "You said, we did"),
    ("console.you_said_quotes", "Quotes to approve"),
    ("console.impact", "Impact"),
    ("console.audit", "Audit log"),
    ("console.users", "Accounts"),
)
