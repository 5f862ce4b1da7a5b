"""Who may ask, approve and act, and the limits they act within: access, cost tiers, quotas, budgets, approvals."""
