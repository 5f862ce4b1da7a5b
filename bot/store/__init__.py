"""The store's front: what the domain may use. SQL stays behind these names."""

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
from bot.store.store import Seen, Store, Tx

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
