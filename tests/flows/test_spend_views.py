"""Spend broken down by person, channel, model, hardware or endpoint, per local day: the figures, the CSV
and the chart, against hand-computed figures on a fixed clock.

The seeded history (BOT_TIMEZONE Europe/Paris, UTC+1 in November; "now" is 2026-11-20 12:00 UTC):

* A: U1 in C1, model m-a on h1, one replica at $5.40/h, serving 2026-11-19 06:00 → 2026-11-20 02:00 UTC.
  In the last 24 hours (from 11-19 12:00 UTC) that is 14 h: 11 h on Paris's 19th (until its midnight,
  23:00 UTC), $59.40, and 3 h on the 20th, $16.20.
* B: U2 in C2, model m-b on h2, 2-5 replicas (v1: how many ran is unknown), serving since 2026-11-20
  10:00 UTC: 2 h on the 20th, $21.60–$54.00.
* C: U1 in C1, served on 2026-11-18 only: outside the window.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.domain.cost.spend import Costs
from bot.domain.cost.spend_views import SpendViews, days_of, parse_month, window_for
from bot.domain.errors import UsageError
from bot.domain.model import LaunchDraft
from bot.domain.policy.tiers import Budgets
from bot.slack.views.spend_files import spend_chart, spend_csv
from bot.store import Seen, Store
from bot.store.db import make_engine, migrate

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def seed_endpoint(
    store: Store,
    endpoint_id: str,
    *,
    user: str,
    channel: str,
    model: str,
    hardware: str,
    replicas: tuple[int, int],
    serving: tuple[datetime, datetime | None],
) -> None:
    """A launched endpoint that served from serving[0] until serving[1] (None: still serving)."""
    low, high = replicas
    with store.transaction() as tx:
        request_id = tx.insert_request(
            team_id="T1",
            channel_id=channel,
            requested_by=user,
            draft=LaunchDraft(model, hardware, low, high, display_name=f"{endpoint_id}-name"),
            cents_per_minute=9.0,  # $5.40/h per replica
            requested_at=serving[0] - timedelta(minutes=10),
        )
        tx.insert_endpoint(
            endpoint_id=endpoint_id,
            request_id=request_id,
            team_id="T1",
            name=f"together-{endpoint_id}",
            model=model,
            hardware=hardware,
            state="PENDING",
            seen=Seen(at=serving[0] - timedelta(minutes=5), min_replicas=low, max_replicas=high),
        )
        tx.move_endpoint_state(endpoint_id, "PENDING", "STARTED", Seen(at=serving[0]))
        if serving[1] is not None:
            tx.move_endpoint_state(endpoint_id, "STARTED", "STOPPED", Seen(at=serving[1]))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine)
    seed_endpoint(
        store, "ep-a", user="U1", channel="C1", model="m-a", hardware="h1", replicas=(1, 1),
        serving=(at(19, 6), at(20, 2)),
    )  # fmt: skip
    seed_endpoint(
        store, "ep-b", user="U2", channel="C2", model="m-b", hardware="h2", replicas=(2, 5),
        serving=(at(20, 10), None),
    )  # fmt: skip
    seed_endpoint(
        store, "ep-c", user="U1", channel="C1", model="m-a", hardware="h1", replicas=(1, 1),
        serving=(at(18, 0), at(18, 5)),
    )  # fmt: skip
    yield store
    engine.dispose()


def views_of(store: Store, budgets: Budgets | None = None) -> SpendViews:
    return SpendViews(
        Costs(store, lambda: NOW), lambda r: r.draft.display_name or "", budgets or Budgets(), PARIS
    )


def test_breakdowns_cut_at_the_window_and_at_local_midnight(store: Store) -> None:
    views = views_of(store)
    view = views.view(views.window("24h"), "person")
    assert [(r.endpoint_id, r.day, r.serving_seconds, r.cents) for r in view.rows] == [
        ("ep-a", date(2026, 11, 19), 11 * 3600, (5940, 5940)),
        ("ep-a", date(2026, 11, 20), 3 * 3600, (1620, 1620)),
        ("ep-b", date(2026, 11, 20), 2 * 3600, (2160, 5400)),
    ]
    assert view.cents == (9720, 12960) and view.total_text == "$97.20–$129.60"
    assert [(g.key, g.cents, g.endpoints) for g in view.groups()] == [
        ("U1", (7560, 7560), 1),
        ("U2", (2160, 5400), 1),
    ]
    by = {b: [(g.key, g.cents) for g in views.view(views.window("24h"), b).groups()] for b in ("channel", "model", "hardware", "endpoint")}  # fmt: skip
    assert by == {
        "channel": [("C1", (7560, 7560)), ("C2", (2160, 5400))],
        "model": [("m-a", (7560, 7560)), ("m-b", (2160, 5400))],
        "hardware": [("h1", (7560, 7560)), ("h2", (2160, 5400))],
        "endpoint": [("ep-a", (7560, 7560)), ("ep-b", (2160, 5400))],
    }
    # The week: C's 5 hours on the 18th count too.
    week = views.view(views.window("7d"), "model")
    assert [(g.key, g.cents) for g in week.groups()] == [("m-a", (540 * 25, 540 * 25)), ("m-b", (2160, 5400))]
    assert [r.replica_seconds for r in week.rows if r.endpoint_id == "ep-b"] == [(4 * 3600, 10 * 3600)]


def test_calendar_months_in_the_bot_time_zone(store: Store) -> None:
    views = views_of(store, Budgets(per_person_monthly=50, total_monthly=500))
    month = views.view(views.window("month"), "person")
    assert month.window.label == "November 2026 so far" and month.window.current_month
    assert month.window.since == datetime(2026, 10, 31, 23, tzinfo=UTC)  # midnight in Paris
    assert month.days[0] == date(2026, 11, 1) and month.days[-1] == date(2026, 11, 20)
    assert month.cents == (540 * 25 + 2160, 540 * 25 + 5400)
    assert [(b.user_id, b.budget) for b in month.budgets] == [(None, 500.0), ("each", 50.0)]
    last = views.view(views.window("last-month"), "person")
    assert last.window.label == "October 2026" and not last.rows and not last.budgets
    assert parse_month("2026-11", NOW, PARIS).label == "November 2026 so far"
    with pytest.raises(UsageError, match="has not begun yet"):
        parse_month("2026-12", NOW, PARIS)
    with pytest.raises(UsageError, match="YYYY-MM"):
        parse_month("november", NOW, PARIS)


def test_a_day_with_a_daylight_saving_change_is_cut_at_its_own_midnights() -> None:
    # Paris leaves summer time on 2026-10-25: that day has 25 hours, from 22:00 to 23:00 UTC next day.
    window = window_for("last-month", NOW, PARIS)
    cuts = {d: (start, end) for d, start, end in days_of(window, PARIS)}
    start, end = cuts[date(2026, 10, 25)]
    assert (start, end) == (datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC))
    assert len(cuts) == 31


def test_the_csv_adds_up_to_the_total_shown(store: Store) -> None:
    views = views_of(store)
    view = views.view(views.window("7d"), "person")
    rows = list(csv.DictReader(io.StringIO(spend_csv(view))))
    assert len(rows) == 4  # C on the 18th, A on the 19th and 20th, B on the 20th
    assert rows[0] == {
        "date": "2026-11-18",
        "endpoint_id": "ep-c",
        "endpoint": "ep-c-name",
        "requested_by": "U1",
        "channel": "C1",
        "model": "m-a",
        "hardware": "h1",
        "serving_seconds": "18000",
        "replica_seconds_low": "18000",
        "replica_seconds_high": "18000",
        "cost_low": "27.00",
        "cost_high": "27.00",
    }
    low = sum(Decimal(r["cost_low"]) for r in rows)
    high = sum(Decimal(r["cost_high"]) for r in rows)
    assert f"${low:,.2f}–${high:,.2f}" == view.total_text == "$156.60–$189.00"


def test_the_chart_opens_at_its_size_and_is_the_same_for_the_same_data(store: Store) -> None:
    views = views_of(store, Budgets(per_person_monthly=50, total_monthly=500))
    view = views.view(views.window("month"), "person")
    png = spend_chart(view)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1200, 600)
    assert spend_chart(views_of(store, Budgets(per_person_monthly=50, total_monthly=500)).view(view.window, "person")) == png  # fmt: skip
    assert spend_chart(view, label=lambda key: f"person {key}") != png  # the labels are drawn
    empty = views.view(views.window("last-month"), "model")
    assert Image.open(io.BytesIO(spend_chart(empty))).size == (1200, 600)
