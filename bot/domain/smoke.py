"""The smoke test: one tiny request to an endpoint that has just come up, to prove it answers (issue 13).

READY with no traffic split, a routing error or a model that fails on its first token all look like
success in the endpoint's state. So when an endpoint comes up (READY or STARTED after a start), the bot
sends one streamed chat completion of at most 8 tokens (a few tokens' cost) and replies in the thread
with the time to the first token and the total, or with Together's error and what to do. The result is
in the audit trail (`smoke_test`). `BOT_SMOKE_TEST=0` turns it off.

It runs in its own loop, not the tracker's: a slow model must not delay everyone's state updates. The
test is asked for in the transaction that records the state; one process claims it for a lease.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain.events import SmokeTest
from bot.store import Store, claim_smoke_test, due_smoke_tests, finish_smoke_test

log = logging.getLogger(__name__)

SMOKE_LEASE = timedelta(minutes=5)  # longer than a probe's timeout: then another process may try


@dataclass(frozen=True)
class ProbeResult:
    """What one tiny chat completion showed. Times in seconds from sending the request."""

    ok: bool
    first: float | None = None  # to the first token
    total: float | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    reply: str | None = None


class Prober(Protocol):
    def probe(self, model: str) -> ProbeResult: ...


def advice(result: ProbeResult) -> str:
    """What to do about a failed smoke test, in the user's terms."""
    code = (result.code or "").lower()
    if code == "routing_error":
        return (
            "Together has nowhere to send requests: the endpoint's traffic split gives its deployment no "
            "weight. Route it in Together's console or with `tg endpoints update <dep_…> --traffic-weight 1`, "
            "then try the request above."
        )
    if code == "deployment_stopped":
        return "The deployment is stopped at Together. `/endpoint start` it, then try again."
    if code in ("timeout", "no_tokens"):
        return (
            "The model did not answer in time; it may still be warming up. Try the request above in a minute; "
            "if it keeps failing, check the endpoint in Together's console."
        )
    if code == "unreachable":
        return (
            "The bot could not reach Together's inference host. Check TOGETHER_INFERENCE_URL and the network."
        )
    if result.status == 401:
        return "Together refused the API key for inference. Check TOGETHER_API_KEY's permissions."
    if result.status in (400, 404) and "not running" in (result.message or "").lower():
        return "The endpoint is not running yet. Wait for it to be ready, then try the request above."
    if result.status == 404:
        return "Together does not know the endpoint by this name. Check it with `/endpoint status`."
    return (
        "The endpoint reports ready but does not answer. Try the request above; if it fails the same way, "
        "stop it (it is billed while it runs) and tell Together's support what it said."
    )


class SmokeTests:
    def __init__(
        self,
        store: Store,
        prober: Prober,
        *,
        now: Callable[[], datetime],
        on_outbox: Callable[[], None] = lambda: None,
        lease: timedelta = SMOKE_LEASE,
    ) -> None:
        self.store = store
        self.prober = prober
        self.now = now
        self.on_outbox = on_outbox
        self.lease = lease

    def run_due(self) -> int:
        """Run every smoke test asked for and not claimed; returns how many ran."""
        ran = 0
        for endpoint, _asked in due_smoke_tests(self.store, self.now()):
            if not claim_smoke_test(self.store, endpoint.id, self.now(), self.lease):
                continue  # another process runs it
            request = self.store.get_request(endpoint.request_id)
            if request is None:
                continue
            try:
                result = self.prober.probe(endpoint.name)
            except Exception as exc:  # a bug in the probe must not stop the loop; say so in the thread
                log.exception("the smoke test of %s failed", endpoint.id)
                result = ProbeResult(ok=False, code="probe_failed", message=f"{type(exc).__name__}: {exc}")
            detail = _detail(result)
            with self.store.transaction() as tx:
                finish_smoke_test(tx, endpoint.id, self.now())
                tx.record(
                    team_id=request.team_id,
                    actor="bot",
                    action="smoke_test",
                    request_id=request.id,
                    endpoint_id=endpoint.id,
                    **detail,
                )
                tx.reply(
                    request,
                    SmokeTest(
                        endpoint_id=endpoint.id,
                        name=endpoint.name,
                        requester=request.requested_by,
                        advice=None if result.ok else advice(result),
                        **detail,
                    ),
                )
            self.on_outbox()
            ran += 1
        return ran


def _detail(result: ProbeResult) -> dict[str, Any]:
    if result.ok:
        return {
            "ok": True,
            "ttft_ms": _ms(result.first),
            "total_ms": _ms(result.total),
            "reply": (result.reply or "")[:200],
        }
    return {
        "ok": False,
        "status": result.status,
        "code": result.code,
        "message": (result.message or "")[:1000],
        "ttft_ms": _ms(result.first),
        "total_ms": _ms(result.total),
    }


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)
