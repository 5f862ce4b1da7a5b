"""Run one launch in a separate process and kill it (SIGKILL) at a chosen step. Used by test_reliability.

    python tests/support/crash_launch.py DATABASE_URL TOGETHER_ROOT SLACK_API_URL REQUEST_ID STEP API [PROJECT_ID]

STEP: before_create (claimed, nothing sent), after_create (Together made it, nothing recorded),
after_record (recorded and queued, no Slack update delivered yet). API is v1 or v2.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import timedelta

from bot.config import load_settings
from bot.domain.provider import EndpointInfo, LaunchSpec
from bot.runtime import build_bot
from bot.slack.app import make_web_client
from bot.together.v1.client import TogetherClient
from bot.together.v2.client import TogetherV2Client


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class Crashing:
    """Wraps a Together client's create_endpoint with a SIGKILL before or after it."""

    step = ""

    def create_endpoint(self, spec: LaunchSpec) -> EndpointInfo:
        if self.step == "before_create":
            die()
        info = super().create_endpoint(spec)  # type: ignore[misc]
        if self.step == "after_create":
            die()
        return info  # type: ignore[no-any-return]


class CrashingV1(Crashing, TogetherClient):
    pass


class CrashingV2(Crashing, TogetherV2Client):
    pass


def main() -> None:
    database_url, together_root, slack_url, request_id, step, api = sys.argv[1:7]
    project_id = sys.argv[7] if len(sys.argv) > 7 else None
    settings = load_settings(
        slack_bot_token="xoxb-test-bot-token-42",
        slack_signing_secret="test-signing-secret-0123456789",
        slack_api_url=slack_url,
        together_api_key="tk-test-together-key-0123456789",
        together_base_url=together_root,
        together_api=api,
        together_project_id=project_id,
        database_url=database_url,
        bot_approvers="UAPPROVER1,UAPPROVER2",
    )
    key = "tk-test-together-key-0123456789"
    provider: Crashing
    if api == "v2":
        assert project_id is not None
        provider = CrashingV2(together_root, key, project_id)
    else:
        provider = CrashingV1(together_root + "/v1", key)
    provider.step = step
    client = make_web_client("xoxb-test-bot-token-42", slack_url)
    bot = build_bot(settings, provider=provider, client=client)  # type: ignore[arg-type]
    bot.launches.launch_lease = timedelta(seconds=1)
    bot.launches.launch(int(request_id))
    if step == "after_record":
        die()
    print("no crash happened", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main()
