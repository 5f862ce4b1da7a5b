"""Money: Together prices hardware in US cents per minute per replica; people think in $/hour."""

from __future__ import annotations

from dataclasses import dataclass


def dollars_per_hour(cents_per_minute: float, replicas: int = 1) -> float:
    return round(cents_per_minute * 60 * replicas / 100, 2)


def format_dollars(amount: float) -> str:
    return f"${amount:,.2f}"


@dataclass(frozen=True)
class CostEstimate:
    cents_per_minute: float  # per replica
    min_replicas: int
    max_replicas: int

    @property
    def at_min(self) -> float:
        return dollars_per_hour(self.cents_per_minute, self.min_replicas)

    @property
    def at_max(self) -> float:
        return dollars_per_hour(self.cents_per_minute, self.max_replicas)

    def describe(self) -> str:
        """`$10.80/h` or `$10.80–$27.00/h (2–5 replicas at $5.40/h each)`."""
        each = dollars_per_hour(self.cents_per_minute)
        if self.min_replicas == self.max_replicas:
            n = self.min_replicas
            return f"{format_dollars(self.at_min)}/h ({n} replica{'s' if n != 1 else ''} at {format_dollars(each)}/h each)"
        return (
            f"{format_dollars(self.at_min)}–{format_dollars(self.at_max)}/h "
            f"({self.min_replicas}–{self.max_replicas} replicas at {format_dollars(each)}/h each)"
        )
