"""The way of every message: store it once, step its conversation, write, claim and send."""
