"""Chat completions as the simulator answers them: `POST /v1/chat/completions`, streamed or not.

A streamed answer is Server-Sent Events as Together (and OpenAI) send them: one `data: {chunk}` per token,
`data: [DONE]` at the end. Two switches play a model in trouble: `first_token_delay` (real seconds before
the first token; the whole answer waits) and `first_token_error` (the stream carries an error event
instead of its first token, as a model that fails on its first token does).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

REPLY = "Hello from the Together simulator."
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


@dataclass
class InferenceSwitches:
    first_token_delay: float = 0.0
    first_token_error: str | None = None


@dataclass(frozen=True)
class Completion:
    """A completion to send: what the request asked for."""

    model: str
    created: int
    stream: bool
    max_tokens: int | None

    @property
    def tokens(self) -> list[str]:
        words = REPLY.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        return pieces[: self.max_tokens] if self.max_tokens else pieces

    def to_json(self) -> dict[str, Any]:
        tokens = self.tokens
        return {
            "id": f"sim-{uuid.uuid4().hex[:16]}",
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(tokens)},
                    "finish_reason": "length" if len(tokens) < len(REPLY.split(" ")) else "stop",
                }
            ],
            "usage": {"prompt_tokens": 8, "completion_tokens": len(tokens), "total_tokens": 8 + len(tokens)},
        }

    def sse(self, error: str | None) -> bytes:
        """The streamed answer; with `error`, an error event in place of the first token."""
        if error is not None:
            body = {"error": {"message": error, "type": "model_error", "param": None, "code": "model_error"}}
            return f"data: {json.dumps(body)}\n\n".encode()
        ident = f"sim-{uuid.uuid4().hex[:16]}"
        tokens = self.tokens
        lines = []
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": token} if i == 0 else {"content": token},
                        "finish_reason": (
                            ("length" if len(tokens) < len(REPLY.split(" ")) else "stop") if last else None
                        ),
                    }
                ],
            }
            if last:
                chunk["usage"] = {
                    "prompt_tokens": 8,
                    "completion_tokens": len(tokens),
                    "total_tokens": 8 + len(tokens),
                }
            lines.append(f"data: {json.dumps(chunk)}\n\n")
        lines.append("data: [DONE]\n\n")
        return "".join(lines).encode()


def check_request(body: dict[str, Any]) -> tuple[bool, int | None, str | None]:
    """(stream, max_tokens) of a chat completion body, or the message of the 400 Together answers."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return False, None, "messages must be a non-empty list"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "user",
            "assistant",
            "tool",
        ):
            return False, None, "each message needs a role (system, user, assistant or tool) and content"
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        return False, None, "stream must be true or false"
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        return False, None, "max_tokens must be a positive integer"
    return stream, max_tokens, None
