"""What the policy file means, checked: groups and people, tiers, limits resolved against the catalogue,
every problem collected before the domain's LaunchPolicy is built."""

from __future__ import annotations

import difflib
import re
from typing import Any

from bot.domain.catalog import Catalog
from bot.domain.errors import UserError
from bot.domain.policy.tiers import Budgets, LaunchPolicy, Limits, People, Tier, parse_duration, plural
from bot.policy_file.messages import PolicyFileError
from bot.policy_file.schema import HELP, TOP_LEVEL_KEYS, PolicyTable

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class Builder:
    """Checks what the file means and builds the policy, collecting every problem on the way."""

    def __init__(self, table: PolicyTable, catalog: Catalog, source: str) -> None:
        self.table = table
        self.catalog = catalog
        self.source = source
        self.problems: list[str] = []
        self.groups: dict[str, frozenset[str]] = {}

    def build(self, env_approvers: set[str], env_admins: set[str]) -> LaunchPolicy:
        self._groups()
        approvers = self._people(self.table.approvers, "approvers").plus(People(tuple(sorted(env_approvers))))
        admins = self._people(self.table.admins, "admins").plus(People(tuple(sorted(env_admins))))
        tiers = self._tiers(approvers)
        limits = self._limits()
        expire_after = None
        if self.table.expire_after is not None:
            try:
                expire_after = parse_duration(self.table.expire_after)
            except ValueError as exc:
                self.problems.append(f"expire_after: {exc}. Write {HELP['expire_after']}.")
        if self.problems:
            raise PolicyFileError(self.source, self.problems)
        budgets = Budgets(self.table.budgets.per_person_monthly, self.table.budgets.total_monthly)
        return LaunchPolicy(
            approvers, admins, tiers, limits, expire_after, self.source, self.groups, budgets=budgets
        )

    # --- people ------------------------------------------------------------------------------

    def _groups(self) -> None:
        for name, members in self.table.groups.items():
            where = f"[groups] {name}"
            if name in TOP_LEVEL_KEYS:
                self.problems.append(
                    f'{where}: a group called "{name}" looks like the top-level key `{name}` written after '
                    "[groups]. TOML puts every key written after a [table] header into that table: move it "
                    "above the first [table] header (or give the group another name)."
                )
                continue
            if not GROUP_NAME.fullmatch(name):
                self.problems.append(
                    f"{where}: a group name is letters, digits, '-', '_' and '.', e.g. ml-leads = [...]."
                )
                continue
            ids = set()
            for member in members:
                if member.startswith("@"):
                    self.problems.append(
                        f"{where}: {member} is a group; a group lists people only. Write the member ids of "
                        f"{member} here instead."
                    )
                elif self._user_id(member, where):
                    ids.add(member)
            self.groups[name] = frozenset(ids)

    def _user_id(self, word: str, where: str) -> bool:
        if USER_ID.fullmatch(word):
            return True
        if match := MENTION.fullmatch(word):
            self.problems.append(f'{where}: write "{match.group(1)}", without the <@ >.')
        else:
            self.problems.append(
                f'{where}: "{word}" is not a Slack user id. Write member ids such as "U0123ABCD" (in Slack: '
                "the person's profile → ⋮ → Copy member ID)"
                + (", or a @group from [groups]." if not where.startswith("[groups]") else ".")
            )
        return False

    def _people(self, names: list[str], where: str) -> People:
        kept = []
        for word in names:
            if word.startswith("@"):
                group = word[1:]
                if group in self.groups:
                    kept.append(word)
                    continue
                close = difflib.get_close_matches(group, list(self.groups), n=1, cutoff=0.6)
                known = ", ".join(f"@{g}" for g in self.groups) or "none yet"
                self.problems.append(
                    f"{where}: {word} is not a group in [groups]"
                    + (f" (did you mean @{close[0]}?)" if close else "")
                    + f'. Groups: {known}. Add it under [groups] as {group} = ["U0123ABCD", ...].'
                )
            elif self._user_id(word, where) and word not in kept:
                kept.append(word)
        return People(tuple(kept), self.groups)

    # --- tiers -------------------------------------------------------------------------------

    def _tiers(self, approvers: People) -> tuple[Tier, ...]:
        if not self.table.tiers:
            return (Tier(None, None, approvers),)
        built: list[Tier] = []
        names: dict[str, str] = {}
        unbounded: str | None = None
        bounds: dict[float, str] = {}
        for index, t in enumerate(self.table.tiers):
            where = f'[[tiers]] #{index + 1} ("{t.name}")'
            if t.name.lower() in names:
                self.problems.append(
                    f'{where}: another tier is called "{t.name}". Give each tier its own name.'
                )
            names[t.name.lower()] = t.name
            if t.up_to is None:
                if unbounded is not None:
                    self.problems.append(
                        f'{where}: only the most expensive tier may leave out up_to (no upper bound), and "'
                        f'{unbounded}" does already. Write {HELP["up_to"]}.'
                    )
                unbounded = t.name
            elif t.up_to in bounds:
                self.problems.append(
                    f'{where}: tier "{bounds[t.up_to]}" has up_to = {t.up_to:g} too. Each tier needs its own '
                    "upper bound."
                )
            else:
                bounds[t.up_to] = t.name
            own = self._people(t.approvers, f"{where} approvers") if t.approvers is not None else approvers
            required = People()
            if t.at_least_one_from is not None:
                required = self._people(t.at_least_one_from, f"{where} at_least_one_from")
                if not required.members:
                    self.problems.append(
                        f"{where} at_least_one_from: names nobody. Write {HELP['at_least_one_from']}, or leave "
                        "it out."
                    )
            tier = Tier(t.name, t.up_to, own, t.approvals, required)
            self._check_enough(tier, where, t.approvers is None)
            built.append(tier)
        built.sort(key=lambda tier: float("inf") if tier.up_to is None else tier.up_to)
        below = 0.0
        placed = []
        for tier in built:
            placed.append(
                Tier(tier.name, tier.up_to, tier.approvers, tier.approvals, tier.at_least_one_from, below)
            )
            below = tier.up_to or below
        return tuple(placed)

    def _check_enough(self, tier: Tier, where: str, inherited: bool) -> None:
        eligible = len(tier.eligible)
        if eligible == 0:
            self.problems.append(
                f"{where}: nobody may approve it. Write approvers = [...] in this tier, or a top-level "
                "approvers list (BOT_APPROVERS adds to it)."
                if inherited
                else f"{where} approvers: names nobody. Write {HELP['approvers']}."
            )
        elif eligible < tier.approvals:
            self.problems.append(
                f"{where}: needs {plural(tier.approvals, 'approval')} from distinct people, but only "
                f"{plural(eligible, 'person')} may approve it ({tier.deciders.label()}). Add approvers, or "
                "lower approvals."
            )

    # --- limits ------------------------------------------------------------------------------

    def _limits(self) -> Limits:
        t = self.table.limits
        return Limits(
            max_replicas=t.max_replicas,
            max_dollars_per_hour=t.max_dollars_per_hour,
            max_running_per_person=t.max_running_per_person,
            max_running_total=t.max_running_total,
            models=self._resolved(t.models, "models", self.catalog.resolve_model),
            hardware=self._resolved(t.hardware, "hardware", self.catalog.resolve_hardware),
        )

    def _resolved(self, words: list[str] | None, key: str, resolve: Any) -> dict[str, str] | None:
        if words is None:
            return None
        if not words:
            self.problems.append(
                f"[limits] {key}: the list is empty, so nothing could be launched. Leave {key} out to allow "
                f"every one, or write {HELP[key]}."
            )
            return None
        found: dict[str, str] = {}
        for word in words:
            try:
                found.setdefault(resolve(word), word)
            except UserError as exc:
                first = " ".join(exc.message.splitlines()[:2])
                self.problems.append(f"[limits] {key}: {first} Write {HELP[key]}.")
        return found
