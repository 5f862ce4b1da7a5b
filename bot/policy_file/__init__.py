"""The policy file (BOT_POLICY_FILE): TOML read with tomllib, its shape checked by pydantic models, its
meaning (groups, people, tiers, limits) checked against the catalogue, then made the domain's LaunchPolicy.

A mistake in the file never ends in a stack trace: every problem is reported at once, each naming the file,
the key, and what to write instead. `policy.example.toml` shows every key.

schema.py holds the file's shape, messages.py how each problem is told, builder.py the checks of meaning,
reading.py the way in, render.py what `bot policy check` and `bot doctor` print.
"""

from bot.policy_file.messages import PolicyFileError
from bot.policy_file.reading import load_policy, policy_from_settings, read_policy_file
from bot.policy_file.render import notes, one_line, summary

__all__ = [
    "PolicyFileError",
    "load_policy",
    "notes",
    "one_line",
    "policy_from_settings",
    "read_policy_file",
    "summary",
]
