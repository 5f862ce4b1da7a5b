"""The store: the one place for SQL. The domain imports what it needs from here, never the modules inside.

`Store` reads and opens units of work (`Tx`); each is composed of one part per table group (requests.py,
endpoints.py, audit.py, outbox.py). A start's progress and the smoke test (startup.py) are functions over a
`Store` or `Tx`; the weekly digest's claim (digests.py) is part of `Store`. Engines and migrations are in
db.py, the gauges' queries in gauges.py, the tables in tables.py.
"""

from bot.store.endpoints import Seen
from bot.store.startup import (
    StartupSeen,
    ask_smoke_test,
    claim_smoke_test,
    clear_startup,
    due_smoke_tests,
    finish_smoke_test,
    say_first_serving,
    set_startup,
    take_card_turn,
)
from bot.store.store import Store, Tx

__all__ = [
    "Seen",
    "StartupSeen",
    "Store",
    "Tx",
    "ask_smoke_test",
    "claim_smoke_test",
    "clear_startup",
    "due_smoke_tests",
    "finish_smoke_test",
    "say_first_serving",
    "set_startup",
    "take_card_turn",
]
