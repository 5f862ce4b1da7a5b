"""`bot shell`: the whole bot in a terminal, with a pretend Slack and a simulated Together."""
