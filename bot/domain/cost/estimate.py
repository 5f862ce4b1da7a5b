"""Money: Together prices hardware in US cents per minute per replica; people think in $/hour."""

from __future__ import annotations

from dataclasses import dataclass


def dollars_per_hour(cents_per_minute: float, replicas: int = 1) -> float:
    """The hourly price of `replicas` replicas: the price of one, rounded to the cent as it is shown, times
    the count, so that every figure shown adds up (5 × $4.00/h is $20.00/h, never $20.01/h).

    Together's own hourly price is a whole number of cents (v2's `priceCentsPerHour`; v1's
    `cents_per_minute` is that price divided by 60 and rounded), so the rounded figure is the real one.
    """
    return round(round(cents_per_minute * 60 / 100, 2) * replicas, 2)


def format_dollars(amount: float) -> str:
    return f"${amount:,.2f}"


def replica_count(low: int, high: int) -> str:
    """`1 replica`, `3 replicas`, `2–5 replicas`: never `1–1`."""
    if low == high:
        return f"{low} replica{'s' if low != 1 else ''}"
    return f"{low}–{high} replicas"


@dataclass(frozen=True)
class CostEstimate:
    cents_per_minute: float  # per replica
    min_replicas: int
    max_replicas: int

    @property
    def each(self) -> float:
        """$/h for one replica: the number every other figure is made from."""
        return dollars_per_hour(self.cents_per_minute)

    @property
    def at_min(self) -> float:
        return dollars_per_hour(self.cents_per_minute, self.min_replicas)

    @property
    def at_max(self) -> float:
        return dollars_per_hour(self.cents_per_minute, self.max_replicas)

    def hourly(self) -> str:
        """`$8.00–$20.00/h`, or `$4.00/h` where the range is one number."""
        if self.at_min == self.at_max:
            return f"{format_dollars(self.at_min)}/h"
        return f"{format_dollars(self.at_min)}–{format_dollars(self.at_max)}/h"

    def describe(self) -> str:
        """`$10.80–$27.00/h (2–5 replicas at $5.40/h each)`, `$10.80/h (2 replicas at $5.40/h each)` or,
        for one replica, `$5.40/h (1 replica)`."""
        count = replica_count(self.min_replicas, self.max_replicas)
        if self.max_replicas == 1:
            return f"{self.hourly()} ({count})"
        return f"{self.hourly()} ({count} at {format_dollars(self.each)}/h each)"
