"""`pytest --update-snapshots` (the option is declared in tests/conftest.py) rewrites the snapshots of
tests/slack/test_snapshots.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def update_snapshots(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-snapshots", default=False))
