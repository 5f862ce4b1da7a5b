"""The policy file's shape, as pydantic models, and what to write for each key (the end of every message
about it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from bot.domain.draft import MAX_REPLICAS

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
