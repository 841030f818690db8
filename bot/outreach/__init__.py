"""Reaching out: broadcasts, "you said, we did", consultations, reminders and surveys."""
