"""The weekly spend digest: posted once a week (Monday 09:00 in BOT_TIMEZONE) by exactly one process, also
after a restart that missed the hour; `bot digest --now` on demand; what it says."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import Bot
from bot.sandbox.fake_slack import FakeSlack
from tests.support.cli import run_bot
from tests.support.databases import DATABASES, pg_schema
from tests.support.lifecycle import launch
from tests.support.stack import (
    APPROVER,
    APPROVER_2,
    BOT_TOKEN,
    REQUESTER,
    Stack,
    build_stack_bot,
    policy_settings,
)

DIGEST = "C0DIGEST"
HOUR = 3600.0
PARIS_SETTINGS: dict[str, object] = {"bot_digest_channel": DIGEST, "bot_timezone": "Europe/Paris"}


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def bots(fake_slack: FakeSlack, sim: Any, sim_server: Any, together: Any) -> Iterator[Any]:
    """Build bots (processes, each with its own engine) on one PostgreSQL database, on the clock `clock[0]`.
    SQLite serves one process only (the bot refuses a second), so this is PostgreSQL's case."""
    if "postgresql" not in DATABASES:
        pytest.skip("needs PostgreSQL")
    clock = [utc(16, 9)]
    made: list[Bot] = []

    def make() -> Bot:
        bot = build_stack_bot(url, fake_slack, sim, sim_server, together, **PARIS_SETTINGS)
        bot.launches.now = lambda: clock[0]
        made.append(bot)
        return bot

    with pg_schema("dg_") as url:
        yield make, clock
        for bot in made:
            bot.stop()
            bot.store.engine.dispose()


def post_at_once(bots: list[Bot]) -> list[bool]:
    """Every bot's digest loop runs its check at the same moment."""
    start = threading.Barrier(len(bots))
    results: list[bool] = [False] * len(bots)

    def run(i: int) -> None:
        start.wait()
        assert bots[i].digest is not None
        results[i] = bots[i].digest.post_due()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bots))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def digests(fake: FakeSlack) -> list[str]:
    return [m.text or "" for m in fake.messages(DIGEST)]


def test_two_processes_post_each_week_once_also_after_a_restart_that_missed_the_hour(
    bots: Any, fake_slack: FakeSlack
) -> None:
    make, clock = bots
    first, second = make(), make()
    # Monday 16 November, 10:00 in Paris: the week's digest is due; both processes look at once.
    assert sorted(post_at_once([first, second])) == [False, True]
    (week,) = digests(fake_slack)
    assert week.startswith("*Spend digest: Mon 09 Nov – Mon 16 Nov 2026*\nLast week: *$0.00*")
    chart, table = fake_slack.files.shared_in(DIGEST)  # an empty week still gets its chart (and CSV)
    assert chart.filename.endswith(".png") and table.filename.endswith(".csv")
    assert post_at_once([first, second]) == [False, False]

    # Monday 23 November, 08:59 in Paris: not yet. Then both stop; one starts again at 11:00.
    clock[0] = utc(23, 7, 59)
    assert post_at_once([first, second]) == [False, False]
    first.stop()
    second.stop()
    clock[0] = utc(23, 10)
    restarted = make()
    assert restarted.digest is not None and restarted.digest.post_due() is True
    assert restarted.digest.post_due() is False and make().digest.post_due() is False  # type: ignore[union-attr]
    assert [t.splitlines()[0] for t in digests(fake_slack)] == [
        "*Spend digest: Mon 09 Nov – Mon 16 Nov 2026*",
        "*Spend digest: Mon 16 Nov – Mon 23 Nov 2026*",
    ]


def test_a_refused_post_is_tried_again_later_by_any_process(bots: Any, fake_slack: FakeSlack) -> None:
    make, clock = bots
    first, second = make(), make()
    fake_slack.fail("files.completeUploadExternal", 200, error="not_in_channel")
    assert first.digest.post_due() is False and digests(fake_slack) == []
    assert second.digest.post_due() is False  # the week is held back for a quarter of an hour...
    clock[0] += timedelta(minutes=16)
    assert second.digest.post_due() is True and len(digests(fake_slack)) == 1  # ...then anyone retries


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    budgets = f'approvers = ["{APPROVER}", "{APPROVER_2}"]\n[budgets]\nper_person_monthly = 1000\ntotal_monthly = 5000\n'
    return {**policy_settings(tmp_path, budgets), "bot_digest_channel": DIGEST}


def test_the_digest_says_who_and_what_spent_what_ran_long_and_each_budget(stack: Stack) -> None:
    stack.follow_simulated_time()
    hw = stack.backend.hardware
    launch(stack, f"create llama-8b {hw} 1 timeout=0")  # $5.40/h: $129.60 a day
    stack.advance(4 * 24 * HOUR)
    assert stack.bot.digest is not None
    stack.bot.digest.post_now()
    (text,) = digests(stack.fake)
    assert "Last week: *$518.40* (up $518.40 from $0.00 the week before)" in text
    assert f"*Top people*\n• <@{REQUESTER}> · $518.40" in text
    assert "*Top models*\n• `meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo` · $518.40" in text
    assert "*Serving for more than 3 days*\n• *llama-8b-r1*" in text and "(4 d)" in text
    assert "*Budgets this month*\n• Everyone's launches cost" in text
    assert f"<@{REQUESTER}>'s launches cost" in text and "of the $1,000.00 monthly budget so far" in text


@pytest.mark.backend("v1", reason="the command line, not the Together API")
def test_bot_digest_now_posts_on_demand(stack: Stack) -> None:
    env = {
        "DATABASE_URL": stack.bot.settings.database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": stack.fake.base_url,
        "BOT_DIGEST_CHANNEL": DIGEST,
    }
    result = run_bot("digest", "--now", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Posted the spend digest to {DIGEST}")
    (text,) = digests(stack.fake)
    assert "Last week: *$0.00* (nothing the week before either)" in text
    assert run_bot("digest", env=env).returncode == 2
    unset = run_bot("digest", "--now", env={**env, "BOT_DIGEST_CHANNEL": ""})
    assert unset.returncode == 2 and "BOT_DIGEST_CHANNEL" in unset.stderr
