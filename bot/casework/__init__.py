"""What staff do with what people told us: cases and their clock, moderation, replies."""
