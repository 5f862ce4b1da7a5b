"""What `bot policy check` and `bot doctor` say about the policy in force."""

from __future__ import annotations

from bot.domain.policy.tiers import LaunchPolicy, plural


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
