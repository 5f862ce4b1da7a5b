"""The running-cost meter: time in serving states × replicas × price, and a range where replicas are unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.cost.meter import Meter, duration_text, measure, money_range, serving_since
from bot.domain.model import Observation

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
H100 = 9.0  # cents per replica-minute: $5.40/h


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def v1(state: str, minute: float, low: int | None = None, high: int | None = None) -> Observation:
    return Observation(state, at(minute), None, low, high)


def v2(state: str, minute: float, ready: int) -> Observation:
    return Observation(state, at(minute), ready, 1, 3)


def test_only_serving_time_counts_and_v1_gives_the_replica_range() -> None:
    history = [
        v1("PENDING", 0),
        v1("STARTING", 5),
        v1("STARTED", 10),
        v1("STOPPING", 190),
        v1("STOPPED", 191),
    ]
    meter = measure(history, H100, bounds=(2, 5), now=at(600))
    assert meter.serving == timedelta(hours=3)
    assert (round(meter.low, 2), round(meter.high, 2)) == (32.40, 81.00)  # 3 h × $5.40 × 2 … × 5
    assert not meter.exact and meter.cost_text() == "$32.40–$81.00"
    assert meter.hourly_now is None  # stopped: nothing accrues now


def test_an_endpoint_still_serving_accrues_until_now_and_says_its_hourly_rate() -> None:
    meter = measure([v1("PENDING", 0), v1("STARTED", 10)], H100, bounds=(1, 1), now=at(70))
    assert meter.serving == timedelta(hours=1) and meter.exact
    assert meter.cost_text() == "≈ $5.40"
    assert meter.hourly_text() == "$5.40/h"


def test_v2_ready_replicas_decide_the_figure() -> None:
    history = [
        v2("PROVISIONING", 0, 0),
        v2("SCALING", 5, 0),  # coming up: no replica ready, nothing billed
        v2("READY", 10, 1),
        v2("SCALING", 70, 1),  # scaled up; the new replica is not ready yet
        v2("READY", 80, 3),
        v2("STOPPING", 140, 3),
        v2("STOPPED", 142, 0),
    ]
    meter = measure(history, H100, bounds=(1, 3), now=at(1000))
    assert meter.serving == timedelta(minutes=130)
    # 70 replica-minutes at 1, then 60 at 3: (70 + 180) × 9 cents
    assert meter.exact and meter.low == pytest.approx(22.50)
    assert meter.cost_text() == "≈ $22.50"


def test_degraded_with_no_ready_replica_costs_nothing() -> None:
    meter = measure([v2("PROVISIONING", 0, 0), v2("DEGRADED", 5, 0)], H100, bounds=(1, 3), now=at(300))
    assert meter == Meter(timedelta(0), 0.0, 0.0, (0.0, 0.0))


def test_stop_start_cycles_add_up_and_scales_change_the_range() -> None:
    history = [
        v1("STARTED", 0, 1, 1),
        v1("STOPPED", 60, 1, 1),
        v1("STARTING", 120, 1, 1),
        v1("STARTED", 125, 1, 1),
        v1("STARTED", 185, 2, 4),  # a scale: new bounds from here on
        v1("STOPPED", 245, 2, 4),
    ]
    meter = measure(history, H100, bounds=(2, 4), now=at(500))
    assert meter.serving == timedelta(hours=3)
    # 2 h at exactly 1 replica ($10.80), then 1 h at 2–4 ($10.80–$21.60)
    assert (round(meter.low, 2), round(meter.high, 2)) == (21.60, 32.40)


def test_rows_without_bounds_use_the_endpoints_bounds() -> None:
    meter = measure([v1("STARTED", 0)], H100, bounds=(2, 3), now=at(60))
    assert (round(meter.low, 2), round(meter.high, 2)) == (10.80, 16.20)
    assert meter.hourly_text() == "$10.80–$16.20/h"


def test_a_window_clips_the_intervals() -> None:
    history = [v1("STARTED", 0, 1, 1), v1("STOPPED", 120, 1, 1)]
    meter = measure(history, H100, bounds=(1, 1), now=at(90), since=at(30))
    assert meter.serving == timedelta(hours=1) and meter.low == pytest.approx(5.40)


def test_serving_since_is_the_start_of_the_current_run() -> None:
    history = [v1("STARTED", 0), v1("STOPPED", 60), v1("STARTING", 70), v1("STARTED", 75), v1("STARTED", 90)]
    assert serving_since(history) == at(75)
    assert serving_since(history + [v1("STOPPED", 100)]) is None
    coming_up = [v2("PROVISIONING", 0, 0), v2("SCALING", 5, 0), v2("READY", 10, 1)]
    assert serving_since(coming_up) == at(10)  # v2: from the first ready replica


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0.5, "under a minute"), (45, "45 min"), (60, "1 h"), (192, "3 h 12 min"), (60 * 52, "2 d 4 h")],
)
def test_durations_read_like_people_say_them(minutes: float, text: str) -> None:
    assert duration_text(timedelta(minutes=minutes)) == text


def test_money_ranges() -> None:
    assert money_range(41.2, 41.2) == "≈ $41.20"
    assert money_range(36, 90) == "$36.00–$90.00"
    assert money_range(1234.5, 1234.5) == "≈ $1,234.50"
