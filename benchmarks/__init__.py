"""Benchmarks that print figures: for now, how fast the bot acks Slack's requests.

They are not tests and assert no speed. Run `python -m benchmarks.ack_latency --help`.
"""
