"""`pytest tests/slack --update-snapshots` rewrites the snapshots of tests/slack/test_snapshots.py."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="write the rendered Slack surfaces to tests/slack/snapshots/ instead of comparing with them",
    )


@pytest.fixture
def update_snapshots(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-snapshots", default=False))
