"""Block Kit and text the bot shows: pure functions of domain records (and the launch form read back)."""
