"""The weekly spend digest in Slack: its text, and its chart and CSV, shared in BOT_DIGEST_CHANNEL.

`post_due` runs on a background loop in every process (`bot run`, `bot tracker`); the claim in the
database (the store's digest claims) makes exactly one of them post each week. `post_now` is `bot digest --now`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.cost.digest import Digest, DigestClaims, build_digest, due_at, week_of
from bot.domain.cost.estimate import format_dollars
from bot.domain.cost.meter import duration_text, money_range
from bot.domain.cost.spend_views import SpendViews
from bot.slack.publisher import worker_id
from bot.slack.text import code, escape, mention, truncate
from bot.slack.uploads import SlackNames, upload_spend_files

log = logging.getLogger(__name__)

CHECK_INTERVAL = 60.0  # seconds between looks at the calendar
LEASE = timedelta(minutes=10)  # a claimant that dies mid-post leaves the week to another after this
RETRY_IN = timedelta(minutes=15)  # after Slack refused the post


def _money(cents: tuple[int, int]) -> str:
    return money_range(cents[0] / 100, cents[1] / 100, approx=False)


def change_text(d: Digest) -> str:
    before = _money(d.previous)
    if d.previous[1] == 0 and d.week.cents[1] == 0:
        return "nothing the week before either"
    if d.change == 0:
        return f"the same as the week before ({before})"
    direction = "up" if d.change > 0 else "down"
    percent = f", {abs(d.change) / d.previous[0]:.0%}" if d.previous[0] else ""
    return f"{direction} {format_dollars(abs(d.change) / 100)}{percent} from {before} the week before"


def digest_text(d: Digest) -> str:
    lines = [
        f"*Spend digest: {d.week.window.label}*",
        f"Last week: *{_money(d.week.cents)}* ({change_text(d)})",
    ]
    if d.people:
        lines.append("*Top people*")
        lines += [f"• {mention(g.key)} · {_money(g.cents)}" for g in d.people]
    if d.models:
        lines.append("*Top models*")
        lines += [f"• {code(g.key)} · {_money(g.cents)}" for g in d.models]
    if d.long_running:
        lines.append("*Serving for more than 3 days*")
        now = d.week.window.until
        lines += [
            f"• *{escape(x.name)}* ({code(x.endpoint_id)}), asked by {mention(x.requested_by)}: serving "
            f"since {x.since:%Y-%m-%d %H:%M} UTC ({duration_text(now - x.since)})"
            for x in d.long_running
        ]
    if d.budgets:
        lines.append("*Budgets this month*")
        lines += [f"• {u.describe()}" for u in d.budgets]
    if not d.week.exact:
        lines.append("_A range is from the fewest to the most replicas allowed (v1 does not report them)._")
    return truncate("\n".join(lines), 3900)


class DigestPoster:
    def __init__(
        self,
        store: DigestClaims,
        views: SpendViews,
        client: WebClient,
        channel: str,
        *,
        worker: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.views = views
        self.client = client
        self.channel = channel
        self.worker = worker or worker_id()
        self.now = now or views.now
        self.names = SlackNames()

    def post_due(self) -> bool:
        """Post this week's digest if it is due and no process has; True when this call posted it."""
        now = self.now()
        due = due_at(now, self.views.tz)
        week = week_of(due, self.views.tz)
        if not self.store.claim_digest(week, self.channel, self.worker, now, LEASE):
            return False
        try:
            self._post(due)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            log.warning("the spend digest for %s was not posted (%s); trying again later", week, error)
            self.store.release_digest(week, self.worker, self.now(), RETRY_IN)
            return False
        self.store.mark_digest_posted(week, self.worker, self.now())
        log.info("posted the spend digest for the week of %s", week)
        return True

    def post_now(self) -> str:
        """The digest of the seven days up to now, posted whatever the day (`bot digest --now`)."""
        return self._post(self.now())

    def _post(self, until: datetime) -> str:
        digest = build_digest(self.views, until)
        label = self.names.labeller(self.client, digest.week, self.views)
        chart, _csv = upload_spend_files(self.client, self.channel, digest.week, label, digest_text(digest))
        return chart
