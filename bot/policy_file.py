"""The policy file (BOT_POLICY_FILE): TOML read with tomllib, its shape checked by pydantic models, its
meaning (groups, people, tiers, limits) checked against the catalogue, then made the domain's LaunchPolicy.

A mistake in the file never ends in a stack trace: every problem is reported at once, each naming the file,
the key, and what to write instead. `policy.example.toml` shows every key.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from bot.config import ConfigError, Settings
from bot.domain.catalog import Catalog
from bot.domain.draft import MAX_REPLICAS
from bot.domain.errors import UserError
from bot.domain.policy.tiers import Budgets, LaunchPolicy, Limits, People, Tier, parse_duration
from bot.domain.text import plural

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class PolicyFileError(ConfigError):
    """The policy file cannot be used; the message lists every problem found."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        if len(problems) == 1:
            message = f"Policy file {path}: {problems[0]}"
        else:
            message = f"Policy file {path} has {len(problems)} problems:" + "".join(
                f"\n  • {p}" for p in problems
            )
        super().__init__(message)


# --- the file's shape ---------------------------------------------------------------------------

Names = list[StrictStr]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierTable(_Table):
    name: StrictStr = Field(min_length=1, max_length=64)
    up_to: StrictFloat | None = Field(default=None, gt=0)
    approvers: Names | None = None
    approvals: StrictInt = Field(default=1, ge=1)
    at_least_one_from: Names | None = None


class LimitsTable(_Table):
    max_replicas: StrictInt | None = Field(default=None, ge=1, le=MAX_REPLICAS)
    max_dollars_per_hour: StrictFloat | None = Field(default=None, gt=0)
    max_running_per_person: StrictInt | None = Field(default=None, ge=1)
    max_running_total: StrictInt | None = Field(default=None, ge=1)
    models: Names | None = None
    hardware: Names | None = None


class BudgetsTable(_Table):
    per_person_monthly: StrictFloat | None = Field(default=None, gt=0)
    total_monthly: StrictFloat | None = Field(default=None, gt=0)


class PolicyTable(_Table):
    approvers: Names = []
    admins: Names = []
    expire_after: StrictStr | None = None
    groups: dict[str, Names] = {}
    limits: LimitsTable = LimitsTable()
    budgets: BudgetsTable = BudgetsTable()
    tiers: list[TierTable] = []


TOP_LEVEL_KEYS = ("approvers", "admins", "expire_after")
TABLES = {"groups": "[groups]", "limits": "[limits]", "budgets": "[budgets]", "tiers": "[[tiers]]"}
KEYS = {
    (): list(PolicyTable.model_fields),
    ("tiers",): list(TierTable.model_fields),
    ("limits",): list(LimitsTable.model_fields),
    ("budgets",): list(BudgetsTable.model_fields),
}

# What to write, per key: the end of every message about that key.
HELP = {
    "approvers": 'a list of Slack user ids and @groups, e.g. approvers = ["@ml-leads", "U0123ABCD"]',
    "admins": 'a list of Slack user ids and @groups, e.g. admins = ["@platform"]',
    "expire_after": 'a duration in quotes such as "24h", "90m" or "2d" (leave it out and requests never expire)',
    "groups": 'a list of Slack user ids per group, e.g. ml-leads = ["U0123ABCD", "U0456EFGH"]',
    "limits": "a [limits] table with max_replicas, max_dollars_per_hour, models and hardware",
    "tiers": "one [[tiers]] table per cost tier, each with name, up_to, approvers and approvals",
    "name": 'a short name in quotes, e.g. name = "small"',
    "up_to": "the tier's upper bound in $/hour at max replicas, e.g. up_to = 20 (the top tier may leave it out)",
    "approvals": "how many distinct people must approve, e.g. approvals = 2",
    "at_least_one_from": 'people of whom at least one must approve, e.g. at_least_one_from = ["@platform"]',
    "max_replicas": f"a whole number from 1 to {MAX_REPLICAS}, e.g. max_replicas = 8",
    "max_dollars_per_hour": "dollars per hour at max replicas, e.g. max_dollars_per_hour = 100",
    "max_running_per_person": "how many endpoints one person may have running at once, e.g. max_running_per_person = 3",
    "max_running_total": "how many endpoints may run at once in all, e.g. max_running_total = 20",
    "budgets": "a [budgets] table with per_person_monthly and total_monthly, in dollars",
    "per_person_monthly": "dollars a person's launches may cost per calendar month, e.g. per_person_monthly = 500",
    "total_monthly": "dollars all launches together may cost per calendar month, e.g. total_monthly = 5000",
    "models": 'model aliases or ids, e.g. models = ["llama-8b", "meta-llama/Llama-3.3-70B-Instruct-Turbo"]',
    "hardware": 'hardware aliases or ids, e.g. hardware = ["h100", "2xh100"]',
}

PROBLEMS = {
    "int_type": "is not a whole number",
    "float_type": "is not a number",
    "string_type": "is not text in quotes",
    "list_type": "is not a list",
    "dict_type": "is not a table",
    "model_type": "is not a table",
    "string_too_short": "is empty",
    "string_too_long": "is too long",
}


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _tier_label(data: Any, index: int) -> str:
    tiers = data.get("tiers") if isinstance(data, dict) else None
    name = None
    if isinstance(tiers, list) and index < len(tiers) and isinstance(tiers[index], dict):
        name = tiers[index].get("name")
    return f"[[tiers]] #{index + 1}" + (f' ("{name}")' if isinstance(name, str) and name else "")


def _split(loc: tuple[Any, ...], data: Any) -> tuple[str, tuple[str, ...], list[Any]]:
    """A pydantic location -> (where in the file, the table's key path, the rest of the location)."""
    if loc and loc[0] == "tiers" and len(loc) > 1 and isinstance(loc[1], int):
        return _tier_label(data, loc[1]), ("tiers",), list(loc[2:])
    if loc and loc[0] in ("limits", "budgets", "groups") and len(loc) > 1:
        return f"[{loc[0]}]", (str(loc[0]),), list(loc[1:])
    return "", (), list(loc)


def _describe_error(error: Any, data: Any) -> str:
    where, table, rest = _split(tuple(error["loc"]), data)
    keys = [str(p) for p in rest if isinstance(p, str)]
    items = [p for p in rest if isinstance(p, int)]
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(where, table, keys[-1] if keys else "?")
    key = keys[0] if keys else (table[0] if table else "")
    place = " ".join(p for p in (where, key) if p) or "the file"
    if items:
        place += f", item {items[-1] + 1}"
    ctx = error.get("ctx") or {}
    if kind == "missing":
        problem = "is missing"
    elif kind == "greater_than":
        problem = f"{_shown(error['input'])} must be more than {ctx.get('gt')}"
    elif kind == "greater_than_equal":
        problem = f"{_shown(error['input'])} must be at least {ctx.get('ge')}"
    elif kind == "less_than_equal":
        problem = f"{_shown(error['input'])} is more than {ctx.get('le')}"
    else:
        problem = f"{_shown(error['input'])} {PROBLEMS.get(kind, error['msg'].lower())}"
    help_key = "groups" if table == ("groups",) else key
    advice = f" Write {HELP[help_key]}." if help_key in HELP else ""
    return f"{place}: {problem}.{advice}"


def _unknown_key(where: str, table: tuple[str, ...], key: str) -> str:
    known = KEYS.get(table, [])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    shown = [TABLES.get(k, k) for k in known]
    text = f"{where}: unknown key `{key}`" if where else f"unknown top-level key `{key}`"
    if close:
        text += f" (did you mean `{TABLES.get(close[0], close[0])}`?)"
    text += ". " + ("Its keys are " if where else "The file's keys are ") + ", ".join(shown) + "."
    if table and key in TOP_LEVEL_KEYS:
        text += (
            f" `{key}` is a top-level key: TOML puts every key written after a [table] header into that "
            "table, so move it above the first [table] header."
        )
    return text


# --- reading -------------------------------------------------------------------------------------


def read_policy_file(path: Path) -> tuple[PolicyTable, dict[str, Any]]:
    """The file's tables, shape checked; PolicyFileError listing every problem otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyFileError(
            path, ["the file does not exist. Check BOT_POLICY_FILE (a path to a TOML file)."]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(path, [f"cannot be read ({type(exc).__name__}: {exc})."]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(
            path,
            [
                f"not valid TOML: {exc}. Check that line: text goes in double quotes, lists in [ ], and "
                "each key once per table."
            ],
        ) from None
    try:
        return PolicyTable.model_validate(data), data
    except ValidationError as exc:
        raise PolicyFileError(path, [_describe_error(e, data) for e in exc.errors()]) from None


def load_policy(
    path: Path,
    *,
    catalog: Catalog,
    approvers: Iterable[str] = (),
    admins: Iterable[str] = (),
) -> LaunchPolicy:
    """The policy in `path`, with BOT_APPROVERS and BOT_ADMINS (`approvers`, `admins`) added to its own."""
    table, _data = read_policy_file(path)
    return _Builder(table, catalog, str(path)).build(set(approvers), set(admins))


def policy_from_settings(settings: Settings, catalog: Catalog) -> LaunchPolicy:
    """The policy in force: the file BOT_POLICY_FILE names, or BOT_APPROVERS/BOT_ADMINS alone."""
    if settings.bot_policy_file is None:
        policy = LaunchPolicy.from_environment(settings.approvers, settings.admins)
    else:
        policy = load_policy(
            settings.bot_policy_file, catalog=catalog, approvers=settings.approvers, admins=settings.admins
        )
    return replace(policy, scale_without_approval=settings.bot_scale_without_approval)


class _Builder:
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


# --- what `bot policy check` and `bot doctor` say ------------------------------------------------


def notes(policy: LaunchPolicy) -> list[str]:
    """Things that work but may surprise."""
    found = []
    for tier in policy.tiers:
        name = f'tier "{tier.name}"' if tier.name else "launches"
        if len(tier.eligible) == tier.approvals:
            found.append(
                f"{name}: a launch asked for by one of its {plural(len(tier.eligible), 'approver')} cannot get "
                f"{plural(tier.approvals, 'approval')} (nobody approves their own)."
            )
    cap = policy.limits.max_dollars_per_hour
    for tier in policy.tiers:
        if cap is not None and tier.name and tier.above >= cap:
            found.append(f'tier "{tier.name}" is never used: max_dollars_per_hour ({cap:g}) is below it.')
    if not policy.all_approvers:
        found.append("nobody may approve a launch: add approvers (or set BOT_APPROVERS).")
    return found


def summary(policy: LaunchPolicy) -> str:
    """A readable account of the policy: groups, approvers, tiers, limits, expiry."""
    from bot.domain.cost.estimate import format_dollars
    from bot.domain.policy.tiers import describe_duration

    lines = []
    groups = policy.groups
    lines.append("Groups")
    if groups:
        width = max(len(g) for g in groups) + 1
        for name, members in groups.items():
            lines.append(f"  @{name:<{width}} {', '.join(sorted(members)) or '(nobody)'}")
    else:
        lines.append("  none")
    lines.append("")
    lines.append(f"Approvers   {policy.approvers.label() or 'nobody'} (in tiers that name no approvers)")
    lines.append(f"Admins      {policy.admins.label() or 'nobody'}")
    lines.append("            Admins and everyone who may approve a launch may run every endpoint.")
    lines.append("")
    lines.append("Cost tiers, by the launch's $/hour at max replicas")
    if not policy.tiered:
        lines.append(f"  one for every launch: {policy.tiers[0].needs()}")
    for tier in policy.tiers:
        if tier.name is None:
            continue
        lines.append(f"  {tier.name:<12} {tier.cost_range():<22} {tier.needs()}")
    top = policy.tiers[-1]
    if top.up_to is not None:
        lines.append(f"  above {format_dollars(top.up_to)}/h: refused (no tier covers it)")
    lines.append("  The requester never counts; each approval is from a different person.")
    lines.append("")
    limits = policy.limits
    lines.append("Limits")
    lines.append(f"  max replicas   {limits.max_replicas if limits.max_replicas is not None else 'no limit'}")
    lines.append(
        "  max $/hour     "
        + (
            f"{format_dollars(limits.max_dollars_per_hour)} per endpoint, at max replicas"
            if limits.max_dollars_per_hour is not None
            else "no limit"
        )
    )
    for key, items in (("models", limits.models), ("hardware", limits.hardware)):
        shown = (
            ", ".join(w if w == real else f"{w} ({real})" for real, w in items.items()) if items else "any"
        )
        lines.append(f"  {key:<14} {shown}")
    for label, count in (
        ("running/person", limits.max_running_per_person),
        ("running in all", limits.max_running_total),
    ):
        lines.append(f"  {label:<14} {count if count is not None else 'no limit'}")
    lines.append("")
    budgets = policy.budgets
    lines.append("Budgets, per calendar month (UTC), counting what the meter shows surely spent")
    for label, amount in (("per person", budgets.per_person_monthly), ("everyone", budgets.total_monthly)):
        lines.append(f"  {label:<14} {format_dollars(amount) if amount is not None else 'no budget'}")
    lines.append("")
    expiry = policy.expire_after
    lines.append(
        f"Expiry      pending requests expire after {describe_duration(expiry)}"
        if expiry
        else "Expiry      none: pending requests wait until someone decides"
    )
    extra = notes(policy)
    if extra:
        lines.append("")
        lines.append("Notes")
        lines += [f"  • {n}" for n in extra]
    return "\n".join(lines)


def one_line(policy: LaunchPolicy) -> str:
    """`bot doctor`'s account of the policy in force."""
    from bot.domain.cost.estimate import format_dollars
    from bot.domain.policy.tiers import describe_duration

    if policy.source is None:
        return "no BOT_POLICY_FILE: one approval by BOT_APPROVERS per launch, no limits, no expiry."
    if policy.tiered:
        tiers = "; ".join(
            f"{t.name} {t.cost_range()}: {plural(t.approvals, 'approval')}" for t in policy.tiers
        )
    else:
        tiers = f"one tier: {plural(policy.tiers[0].approvals, 'approval')}"
    limits = policy.limits
    parts = []
    if limits.max_replicas is not None:
        parts.append(f"max {limits.max_replicas} replicas")
    if limits.max_dollars_per_hour is not None:
        parts.append(f"max {format_dollars(limits.max_dollars_per_hour)}/h")
    if limits.models is not None:
        parts.append(plural(len(limits.models), "model"))
    if limits.hardware is not None:
        parts.append(f"{len(limits.hardware)} hardware")
    if limits.max_running_per_person is not None:
        parts.append(f"{limits.max_running_per_person} running a person")
    if limits.max_running_total is not None:
        parts.append(f"{limits.max_running_total} running in all")
    expiry = f"expire after {describe_duration(policy.expire_after)}" if policy.expire_after else "no expiry"
    if policy.budgets.per_person_monthly is not None:
        parts.append(f"{format_dollars(policy.budgets.per_person_monthly)}/month a person")
    if policy.budgets.total_monthly is not None:
        parts.append(f"{format_dollars(policy.budgets.total_monthly)}/month in all")
    return (
        f"{policy.source}: {tiers}; limits: {', '.join(parts) or 'none'}; {expiry}. "
        "`bot policy check` shows it all."
    )
