"""Run one launch in a separate process and kill it (SIGKILL) at a chosen step. Used by test_reliability.

    python tests/crash_launch.py DATABASE_URL TOGETHER_URL SLACK_API_URL REQUEST_ID STEP

STEP: before_create (claimed, nothing sent), after_create (Together made it, nothing recorded),
after_record (recorded and queued, no Slack update delivered yet).
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
from bot.together.client import TogetherClient


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class CrashingProvider(TogetherClient):
    step = ""

    def create_endpoint(self, spec: LaunchSpec) -> EndpointInfo:
        if self.step == "before_create":
            die()
        info = super().create_endpoint(spec)
        if self.step == "after_create":
            die()
        return info


def main() -> None:
    database_url, together_url, slack_url, request_id, step = sys.argv[1:6]
    settings = load_settings(
        slack_bot_token="xoxb-test-bot-token-42",
        slack_signing_secret="test-signing-secret-0123456789",
        slack_api_url=slack_url,
        together_api_key="tk-test-together-key-0123456789",
        together_base_url=together_url,
        database_url=database_url,
        bot_approvers="UAPPROVER1,UAPPROVER2",
    )
    provider = CrashingProvider(together_url, "tk-test-together-key-0123456789")
    provider.step = step
    bot = build_bot(settings, provider=provider, client=make_web_client("xoxb-test-bot-token-42", slack_url))
    bot.launches.launch_lease = timedelta(seconds=1)
    bot.launches.launch(int(request_id))
    if step == "after_record":
        die()
    print("no crash happened", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main()
