"""The launch policy: who approves a launch and how many of them (cost tiers), what may be asked for
(limits), and how long a request may wait for a decision (expiry). Plain rules on Slack user ids.

Without a policy file the policy is what the environment says: BOT_APPROVERS approve (one approval per
launch), BOT_ADMINS run endpoints, no limits, no expiry. `bot.policy_file` builds one from a TOML file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain.catalog import describe_hardware
from bot.domain.cost.estimate import dollars_per_hour, format_dollars
from bot.domain.errors import PolicyLimit
from bot.domain.model import LaunchRequest
from bot.domain.policy.access import Policy as AccessPolicy
from bot.domain.text import mention, plural

# --- people -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    """People as the policy names them: Slack user ids and `@group`s, in the order written."""

    names: tuple[str, ...] = ()
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def members(self) -> frozenset[str]:
        """Every user id named, directly or through a group."""
        found: set[str] = set()
        for name in self.names:
            found |= self.groups.get(name[1:], frozenset()) if name.startswith("@") else {name}
        return frozenset(found)

    def plus(self, other: People) -> People:
        """Both lists, each name once, this one's first."""
        names = self.names + tuple(n for n in other.names if n not in self.names)
        return People(names, {**self.groups, **other.groups})

    def label(self) -> str:
        """`@ml-leads, U04` (as written)."""
        return ", ".join(self.names)

    def mentions(self, exclude: Iterable[str] = ()) -> str:
        """`@ml-leads (<@U01>, <@U02>), <@U04>`: groups with their members, leaving out `exclude`.

        A group none of whose members is left is not named; a person named twice is mentioned once.
        """
        skip = set(exclude)
        said: set[str] = set()
        parts = []
        for name in self.names:
            if name.startswith("@"):
                members = sorted(self.groups.get(name[1:], frozenset()) - skip)
                if members:
                    parts.append(f"{name} ({', '.join(mention(m) for m in members)})")
                    said.update(members)
            elif name not in skip and name not in said:
                parts.append(mention(name))
                said.add(name)
        return ", ".join(parts)


# --- cost tiers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """Launches whose $/hour at max replicas is above the tier below and at most `up_to` need `approvals`
    distinct approvals from `approvers` (at least one of them from `at_least_one_from`, when given)."""

    name: str | None  # None: the one tier of a policy without tiers (messages then do not name it)
    up_to: float | None  # $/hour at max replicas, inclusive; None: no upper bound
    approvers: People
    approvals: int = 1
    at_least_one_from: People = field(default_factory=People)
    above: float = 0.0  # the bound of the tier below (exclusive)

    @property
    def eligible(self) -> frozenset[str]:
        """Who may approve or reject a launch in this tier (the requester never counts)."""
        return self.approvers.members | self.at_least_one_from.members

    @property
    def required(self) -> frozenset[str]:
        return self.at_least_one_from.members

    @property
    def deciders(self) -> People:
        return self.approvers.plus(self.at_least_one_from)

    def cost_range(self) -> str:
        """`up to $20.00/h`, `$20.00–$200.00/h`, `above $200.00/h`, `any cost`."""
        if self.up_to is None:
            return f"above {format_dollars(self.above)}/h" if self.above else "any cost"
        if not self.above:
            return f"up to {format_dollars(self.up_to)}/h"
        return f"{format_dollars(self.above)}–{format_dollars(self.up_to)}/h"

    def needs(self) -> str:
        """`2 approvals from @ml-leads, @platform, at least one from @platform`."""
        text = f"{plural(self.approvals, 'approval')} from {self.deciders.label() or 'nobody'}"
        if self.at_least_one_from.names:
            text += f", at least one from {self.at_least_one_from.label()}"
        return text

    def describe(self) -> str:
        """`tier *large* ($20.00–$200.00/h at max replicas): 2 approvals from …`."""
        return f"tier *{self.name}* ({self.cost_range()} at max replicas): {self.needs()}"


# --- limits ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What a launch may ask for. None: no limit. Model and hardware lists map ids to how they were written."""

    max_replicas: int | None = None
    max_dollars_per_hour: float | None = None  # per endpoint, at max replicas
    models: Mapping[str, str] | None = None
    hardware: Mapping[str, str] | None = None
    max_running_per_person: int | None = None  # endpoints running (or about to) that one person asked for
    max_running_total: int | None = None  # endpoints running (or about to) through the bot in all

    @property
    def any(self) -> bool:
        return any(
            x is not None
            for x in (
                self.max_replicas,
                self.max_dollars_per_hour,
                self.models,
                self.hardware,
                self.max_running_per_person,
                self.max_running_total,
            )
        )


def _allowed(items: Mapping[str, str], describe: bool = False) -> str:
    shown = []
    for real, written in items.items():
        extra = real if written != real else (describe_hardware(real) if describe else "")
        shown.append(f"`{written}`" + (f" ({extra})" if extra and extra != written else ""))
    return ", ".join(shown)


@dataclass(frozen=True)
class Budgets:
    """What launches may cost per calendar month (UTC), in dollars. None: no budget."""

    per_person_monthly: float | None = None  # the launches a person asked for
    total_monthly: float | None = None  # every launch through the bot

    @property
    def any(self) -> bool:
        return self.per_person_monthly is not None or self.total_monthly is not None


# --- the policy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a pending request stands with its approvals."""

    tier: Tier
    needed: int
    approved_by: tuple[str, ...]  # in the order they came

    @property
    def count(self) -> int:
        return len(self.approved_by)

    @property
    def remaining(self) -> int:
        return max(0, self.needed - self.count)

    @property
    def required_missing(self) -> bool:
        """The tier wants one approval from `at_least_one_from` and none has come yet."""
        return bool(self.tier.required) and not (set(self.approved_by) & self.tier.required)

    @property
    def last_must_be_required(self) -> bool:
        return self.remaining == 1 and self.required_missing

    def may_complete(self, user_id: str) -> bool:
        """Whether an approval by `user_id` keeps the request completable."""
        return not self.last_must_be_required or user_id in self.tier.required

    def waiting_for(self, requester: str) -> str:
        """Who may give the next approval, as mentions."""
        skip = {requester, *self.approved_by}
        people = self.tier.at_least_one_from if self.last_must_be_required else self.tier.deciders
        return people.mentions(skip)


@dataclass(frozen=True)
class LaunchPolicy:
    approvers: People  # approve launches in tiers that name nobody else; run every endpoint
    admins: People  # run every endpoint
    tiers: tuple[Tier, ...]  # cheapest first; at least one
    limits: Limits = field(default_factory=Limits)
    expire_after: timedelta | None = None
    source: str | None = None  # the policy file, named in messages; None: from the environment only
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    budgets: Budgets = field(default_factory=Budgets)
    # Without tiers: a scale-up beyond what was approved needs no change request (BOT_SCALE_WITHOUT_APPROVAL)
    scale_without_approval: bool = False

    @classmethod
    def from_environment(cls, approvers: Iterable[str], admins: Iterable[str] = ()) -> LaunchPolicy:
        """BOT_APPROVERS approve every launch (one approval), BOT_ADMINS run endpoints; nothing else."""
        people = People(tuple(sorted(set(approvers))))
        return cls(people, People(tuple(sorted(set(admins)))), (Tier(None, None, people),))

    @property
    def tiered(self) -> bool:
        """Whether the policy has named cost tiers (messages then say which one applies)."""
        return self.tiers[0].name is not None

    @property
    def all_approvers(self) -> frozenset[str]:
        """Everyone who may approve some launch: the people of the tiers. Top-level approvers (and
        BOT_APPROVERS) count only through the tiers that name nobody else."""
        found: set[str] = set()
        for tier in self.tiers:
            found |= tier.eligible
        return frozenset(found)

    def access(self) -> AccessPolicy:
        """Who may run endpoints after launch: whoever may approve a launch, and the admins."""
        return AccessPolicy(self.all_approvers, self.admins.members)

    # --- tiers -------------------------------------------------------------------------------

    def tier_for(self, dollars_at_max: float) -> Tier | None:
        """The tier for a launch costing this much at max replicas; None when above every tier."""
        for tier in self.tiers:
            if tier.up_to is None or dollars_at_max <= tier.up_to + 1e-9:
                return tier
        return None

    def tier_of(self, request: LaunchRequest) -> Tier:
        """The tier a request was asked in (by name), or, if the policy changed since, the one its cost is in."""
        if request.tier is not None:
            for tier in self.tiers:
                if tier.name == request.tier:
                    return tier
        cost = dollars_per_hour(request.cents_per_minute, request.draft.max_replicas)
        return self.tier_for(cost) or self.tiers[-1]

    def progress(self, request: LaunchRequest) -> Progress:
        return Progress(
            self.tier_of(request), request.approvals_needed, tuple(a.user_id for a in request.approvals)
        )

    # --- limits ------------------------------------------------------------------------------

    def check(
        self,
        *,
        model: str | None = None,
        hardware: str | None = None,
        max_replicas: int | None = None,
        cents_per_minute: float | None = None,
    ) -> None:
        """Raise PolicyLimit (naming the form field) if what is known of a launch breaks a limit."""
        limits = self.limits
        if model is not None and limits.models is not None and model not in limits.models:
            raise PolicyLimit(
                f"The policy does not allow the model `{model}`. Allowed models: {_allowed(limits.models)}.",
                field="model",
            )
        if hardware is not None and limits.hardware is not None and hardware not in limits.hardware:
            raise PolicyLimit(
                f"The policy does not allow the hardware `{hardware}` ({describe_hardware(hardware)}). "
                f"Allowed hardware: {_allowed(limits.hardware, describe=True)}.",
                field="hardware",
            )
        if max_replicas is not None:
            self.check_replicas(max_replicas, cents_per_minute)

    def check_replicas(self, max_replicas: int, cents_per_minute: float | None) -> None:
        """The replica and $/hour limits, for a launch and for a scale (same words for both)."""
        top = self.limits.max_replicas
        if top is not None and max_replicas > top:
            raise PolicyLimit(
                f"The policy allows at most {plural(top, 'replica')} per endpoint; you asked for "
                f"{max_replicas}. Choose {top} or fewer.",
                field="max_replicas",
            )
        if cents_per_minute is None:
            return
        cap = self.cost_cap()
        cost = dollars_per_hour(cents_per_minute, max_replicas)
        if cap is None or cost <= cap[0] + 1e-9:
            return
        amount, why = cap
        each = dollars_per_hour(cents_per_minute)
        fits = max(
            (n for n in range(1, max_replicas) if dollars_per_hour(cents_per_minute, n) <= amount + 1e-9),
            default=0,
        )
        if fits:
            allowed = (
                f"On this hardware ({format_dollars(each)}/h per replica) that allows at most "
                f"{plural(fits, 'replica')}; choose fewer replicas or cheaper hardware."
            )
        else:
            allowed = (
                f"Even one replica of this hardware costs {format_dollars(each)}/h: choose cheaper hardware."
            )
        raise PolicyLimit(
            f"{format_dollars(cost)}/h at {plural(max_replicas, 'replica')} is over {why}. {allowed}",
            field="max_replicas",
        )

    def cost_cap(self) -> tuple[float, str] | None:
        """The most a launch may cost per hour at max replicas, and why; None: no cap."""
        caps = []
        if self.limits.max_dollars_per_hour is not None:
            amount = self.limits.max_dollars_per_hour
            caps.append((amount, f"the policy's limit of {format_dollars(amount)}/h per endpoint"))
        top = self.tiers[-1]
        if top.up_to is not None:
            caps.append(
                (
                    top.up_to,
                    f"the highest cost tier ({top.name}, up to {format_dollars(top.up_to)}/h), so nobody "
                    "could approve it",
                )
            )
        return min(caps, key=lambda c: c[0]) if caps else None


# --- durations ------------------------------------------------------------------------------------

_DURATION = re.compile(r"(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?")


def parse_duration(text: str) -> timedelta:
    """`24h`, `90m`, `2d`, `1h30m` -> a timedelta; ValueError saying what is wrong otherwise."""
    word = text.strip().lower()
    match = _DURATION.fullmatch(word)
    if not word or match is None or not any(match.groups()):
        raise ValueError(f'"{text}" is not a duration')
    days, hours, minutes = (int(g or 0) for g in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes)
    if span < timedelta(minutes=1):
        raise ValueError("a duration must be at least one minute")
    return span


def describe_duration(span: timedelta) -> str:
    """`24 h`, `90 min`, `2 days`, `3 h 30 min`."""
    minutes = max(1, round(span.total_seconds() / 60))
    if minutes % 1440 == 0 and minutes >= 2880:
        return f"{minutes // 1440} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
