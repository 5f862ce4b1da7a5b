"""One tiny streamed chat completion against an endpoint: the smoke test's probe (issue 13).

`POST {inference_url}/chat/completions` with the endpoint's name as `model`, one user message,
`max_tokens` 8 and `stream: true`. It measures the time to the first token and to the end of the
stream, and reports Together's own error (either error shape, or an error event inside the stream)
instead of raising. The whole probe is bounded by `timeout` seconds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.domain.smoke import ProbeResult
from bot.together.http import GRPC_CODES, USER_AGENT

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 60.0  # seconds for the whole probe; a cold model's first token can take a while
PROMPT = "Say hello."
MAX_TOKENS = 8


class InferenceProber:
    def __init__(
        self,
        inference_url: str,
        api_key: str,
        *,
        timeout: float = PROBE_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = inference_url.rstrip("/") + "/chat/completions"
        self.timeout = timeout
        self._monotonic = monotonic
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def probe(self, model: str) -> ProbeResult:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": MAX_TOKENS,
            "stream": True,
        }
        started = self._monotonic()
        deadline = started + self.timeout
        first: float | None = None
        text: list[str] = []
        try:
            with self._http.stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    return _refused(response, self._monotonic() - started)
                for data in _events(response):
                    if self._monotonic() > deadline:
                        return ProbeResult(ok=False, code="timeout", message=_late(self.timeout), first=first)
                    if data == "[DONE]":
                        break
                    chunk = _json(data)
                    if isinstance(chunk.get("error"), dict):
                        error = chunk["error"]
                        return ProbeResult(
                            ok=False,
                            status=response.status_code,
                            code=str(error.get("code") or error.get("type") or "") or None,
                            message=str(error.get("message") or data),
                            first=first,
                        )
                    piece = _content(chunk)
                    if piece and first is None:
                        first = self._monotonic() - started
                    text.append(piece)
        except httpx.TimeoutException:
            return ProbeResult(ok=False, code="timeout", message=_late(self.timeout), first=first)
        except httpx.HTTPError as exc:
            return ProbeResult(ok=False, code="unreachable", message=f"{type(exc).__name__}: {exc}")
        total = self._monotonic() - started
        if first is None:
            return ProbeResult(
                ok=False, code="no_tokens", message="The stream ended without a token.", total=total
            )
        return ProbeResult(ok=True, first=first, total=total, reply="".join(text))


def _late(timeout: float) -> str:
    return f"No complete answer within {timeout:.0f} seconds."


def _events(response: httpx.Response) -> Any:
    """The `data:` payloads of a Server-Sent Events stream."""
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield line[len("data:") :].strip()


def _json(data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _content(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta") or choices[0].get("message") or {}
    return str(delta.get("content") or choices[0].get("text") or "")


def _refused(response: httpx.Response, elapsed: float) -> ProbeResult:
    """Together's error, in either shape (`{"error": {...}}` or `{"code", "message"}`)."""
    body = _json(response.text)
    error = body.get("error")
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        message = error.get("message")
    else:
        code = GRPC_CODES.get(body["code"]) if isinstance(body.get("code"), int) else body.get("code")
        message = body.get("message") or (error if isinstance(error, str) else None)
    return ProbeResult(
        ok=False,
        status=response.status_code,
        code=str(code) if code else None,
        message=str(message or response.text[:500] or f"HTTP {response.status_code}"),
        total=elapsed,
    )
