"""Draw docs/images/spend-example.png from the Together simulator's data.

The whole bot runs against the fake Slack and the simulator (v1, so endpoints with a replica range show
the uncertain, hatched part) on a simulated clock: four people ask for endpoints in two channels, an
approver approves them, some are stopped and started again, for two and a half weeks of May 2026. The
chart is then drawn from the bot's own database, exactly as `/endpoint spend month` draws it.

    python scripts/spend_chart_example.py [--out docs/images/spend-example.png]

Same data, same bytes: running it again rewrites the same file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_settings
from bot.domain.cost.spend_views import SpendViews, month_window
from bot.domain.names import display_name
from bot.runtime import build_bot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.server import ServerThread
from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.simulator.v1.api import DEFAULT_DURATIONS
from bot.slack.app import make_web_client
from bot.slack.views.spend_files import spend_chart
from bot.together.v1.client import TogetherClient

TOKEN = "xoxb-example-0000"
SECRET = "example-signing-secret-0000"
KEY = "example-together-key"
APPROVER = "UAPPROVER"
PEOPLE = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol", "UDAN": "dan"}
RESEARCH, PRODUCT = "C0RESEARCH", "C0PRODUCT"
START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
HOUR = 3600.0
POLICY = f"""
approvers = ["{APPROVER}"]

[budgets]
per_person_monthly = 6000
total_monthly = 20000
"""

# (hour after START, who, channel, what they ask for)
LAUNCHES = [
    (0, "UALICE", RESEARCH, "create llama-70b 2xh100 1 timeout=0"),
    (2, "UBOB", PRODUCT, "create llama-8b h100 2-4 timeout=0"),
    (50, "UCAROL", RESEARCH, "create deepseek-r1 8xh200 1 timeout=0"),
    (120, "UDAN", PRODUCT, "create mixtral 2xa100 1-2 timeout=0"),
    (200, "UALICE", RESEARCH, "create qwq-32b h100 1 timeout=0"),
    (260, "UBOB", PRODUCT, "create gpt-oss-120b h200 1-3 timeout=0"),
]
# (hour after START, launch number (1-based), state Together is forced into)
CHANGES = [
    (20, 1, "STOPPED"),
    (44, 1, "STARTED"),
    (90, 3, "STOPPED"),
    (150, 2, "STOPPED"),
    (170, 2, "STARTED"),
    (230, 3, "STARTED"),
    (250, 3, "STOPPED"),
    (300, 4, "STOPPED"),
    (330, 1, "STOPPED"),
]
END_HOUR = 400  # 2026-05-17 24:00


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images/spend-example.png", help="where to write the PNG")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        png = simulate(Path(folder))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    print(f"Wrote {out} ({len(png):,} bytes).")
    return 0


def simulate(folder: Path) -> bytes:
    clock = ManualClock(START.timestamp())
    sim = TogetherSimulator(clock=clock, api_key=KEY)
    policy = folder / "policy.toml"
    policy.write_text(POLICY)
    with FakeSlack(bot_token=TOKEN) as fake, SimulatorServer(sim) as sim_server:
        settings = load_settings(
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.base_url,
            together_api_key=KEY,
            together_base_url=sim_server.url + "/v1",
            together_api="v1",
            database_url=f"sqlite:///{folder / 'bot.db'}",
            bot_policy_file=str(policy),
            bot_remind_after_hours=0,
        )
        provider = TogetherClient(sim_server.url + "/v1", KEY, timeout=10)
        bot = build_bot(settings, provider=provider, client=make_web_client(TOKEN, fake.base_url))
        bot.launches.now = lambda: datetime.fromtimestamp(clock.now(), UTC)
        server = ServerThread(bot.app, bot.store).start()
        slack = SlackDriver(fake, SECRET, server.url + "/slack/events")
        try:
            run_story(bot, slack, sim, clock)
            views = SpendViews(
                bot.launches.costs,
                lambda r: display_name(r, bot.catalog),
                bot.launches.budget.budgets,
                UTC,
            )
            view = views.view(month_window(2026, 5, views.now(), UTC), "person")
            return spend_chart(view, lambda key: PEOPLE.get(key, key))
        finally:
            bot.stop()
            server.stop()
            slack.close()
            provider.close()


def run_story(bot, slack: SlackDriver, sim: TogetherSimulator, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    endpoints: list[str] = []
    events = [(h, "launch", item) for h, *item in LAUNCHES] + [(h, "change", item) for h, *item in CHANGES]
    hour = 0.0
    for at, kind, item in sorted(events, key=lambda e: e[0]):
        advance(bot, clock, at - hour)
        hour = at
        if kind == "launch":
            user, channel, text = item
            endpoints.append(launch(bot, slack, sim, clock, user, channel, text))
            hour += (DEFAULT_DURATIONS["PENDING"] + DEFAULT_DURATIONS["STARTING"] + 2) / HOUR
        else:
            number, state = item
            sim.force_state(endpoints[number - 1], state)
            settle(bot)
    advance(bot, clock, END_HOUR - hour)


def launch(
    bot, slack: SlackDriver, sim: TogetherSimulator, clock: ManualClock, user: str, channel: str, text: str
) -> str:  # type: ignore[no-untyped-def]
    known = set(sim.endpoints)
    answer = slack.command(user, text, channel=channel)
    if slack.view(user) is None:
        try:
            slack.wait_for_view(user)
        except Exception:
            raise SystemExit(
                f"{text!r} opened no form: {answer}, {slack.fake.ephemerals(user)[-1:]}"
            ) from None
    if slack.submit(user) is not None:
        raise SystemExit(f"the launch form refused {text!r}")
    settle(bot)
    slack.click(APPROVER, "Approve", channel=channel)
    slack.wait_for_view(APPROVER)
    if slack.submit(APPROVER) is not None:
        raise SystemExit(f"the approval form refused {text!r}")
    settle(bot)
    for seconds in (DEFAULT_DURATIONS["PENDING"] + 1, DEFAULT_DURATIONS["STARTING"] + 1):
        clock.advance(seconds)
        settle(bot)
    (new,) = set(sim.endpoints) - known
    return str(new)


def advance(bot, clock: ManualClock, hours: float) -> None:  # type: ignore[no-untyped-def]
    """Move simulated time in steps of at most 6 hours, letting the bot look after each."""
    while hours > 0:
        step = min(hours, 6.0)
        clock.advance(step * HOUR)
        settle(bot)
        hours -= step


def settle(bot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        bot.settle()


if __name__ == "__main__":
    sys.exit(main())
