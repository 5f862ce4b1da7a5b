"""The model menu's search: aliases first, then the backend's catalogue, best matches first, from memory."""

from __future__ import annotations

from bot.domain.catalog import Catalog
from bot.domain.directory import MAX_CHOICES, ModelDirectory
from bot.domain.provider import ProviderUnavailable

LISTED = ["Qwen/Qwen2.5-72B-Instruct-Turbo", "Qwen/QwQ-32B", "deepseek-ai/DeepSeek-V3", "x/" + "m" * 200]


class Listing:
    """A provider that only lists models; `fail` makes the next listing fail as an unreachable Together."""

    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.fail = False
        self.calls = 0

    def list_models(self) -> list[str]:
        self.calls += 1
        if self.fail:
            raise ProviderUnavailable("Gateway timeout", status=504)
        return list(self.models)


def directory(models: list[str] | None = None, **aliases: str) -> tuple[ModelDirectory, Listing]:
    provider = Listing(LISTED if models is None else models)
    found = ModelDirectory(
        Catalog(models=aliases or {"qwq-32b": "Qwen/QwQ-32B"}),
        provider,
        on_stale=lambda: None,  # type: ignore[arg-type]
    )
    return found, provider


def test_aliases_come_first_then_the_listing_and_every_word_must_match() -> None:
    found, _ = directory()
    found.refresh()
    assert [(c.alias, c.model) for c in found.search("qw")] == [
        ("qwq-32b", "Qwen/QwQ-32B"),
        (None, "Qwen/Qwen2.5-72B-Instruct-Turbo"),
    ]
    assert [c.model for c in found.search("qwen 72b")] == ["Qwen/Qwen2.5-72B-Instruct-Turbo"]
    assert [c.model for c in found.search("QWQ")] == ["Qwen/QwQ-32B"]  # one entry: the alias names it
    assert found.search("nothing-like-this") == []


def test_a_full_id_nobody_lists_is_offered_as_typed_and_ids_slack_cannot_carry_are_left_out() -> None:
    found, _ = directory()
    found.refresh()
    (typed,) = found.search("my-org/Fine-Tune-7B")
    assert typed.as_typed and typed.model == "my-org/Fine-Tune-7B"
    assert not any(c.as_typed for c in found.search("Qwen/QwQ-32B"))
    assert all(len(c.model) <= 150 for c in found.search(""))


def test_at_most_a_hundred_choices_whatever_the_catalogue() -> None:
    found, _ = directory([f"org/model-{n:04d}" for n in range(1000)])
    found.refresh()
    assert len(found.search("")) == MAX_CHOICES
    assert [c.model for c in found.search("model-0999")] == ["org/model-0999"]


def test_a_failed_listing_keeps_the_last_one() -> None:
    found, provider = directory()
    assert found.refresh() == 3
    provider.fail = True
    assert found.refresh() == 3 and len(found.listed) == 3


def test_a_search_asks_for_a_refresh_only_when_the_listing_is_missing_or_old() -> None:
    asked: list[bool] = []
    now = [1000.0]
    found = ModelDirectory(
        Catalog(models={}),
        Listing(LISTED),  # type: ignore[arg-type]
        on_stale=lambda: asked.append(True),
        monotonic=lambda: now[0],
    )
    found.search("q")
    assert asked == [True]  # never listed
    found.refresh()
    found.search("q")
    assert asked == [True]
    now[0] += 3600
    found.search("q")
    assert asked == [True, True]
