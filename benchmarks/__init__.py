"""Benchmarks that print figures: Slack ack latency, and what a tracker tick costs as endpoints grow.

They are not tests and assert no speed. Run `python -m benchmarks` for both, or each on its own:
`python -m benchmarks.ack_latency --help`, `python -m benchmarks.tracker_cost --help`.
"""
