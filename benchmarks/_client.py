"""The sending side of the ack benchmark, run in separate processes so that it does not compete with the
server it measures for the interpreter lock."""

from __future__ import annotations

import time
from typing import Any

import httpx

# (body, headers) of one signed request, built and signed by the parent process.
Prepared = tuple[bytes, dict[str, str]]

_start: Any = None  # a multiprocessing Barrier shared by the clients of one pool


def init(barrier: Any) -> None:
    global _start
    _start = barrier


def send(job: tuple[str, list[Prepared], list[Prepared]]) -> list[float]:
    """Send the untimed requests, wait for the other clients, then send the timed ones one after another.
    Returns their latencies in ms. The first untimed request opens the connection that the rest reuse."""
    url, untimed, timed = job
    times: list[float] = []
    with httpx.Client(timeout=30) as client:
        for body, headers in untimed:
            _check(client.post(url, content=body, headers=headers))
        _start.wait()
        for body, headers in timed:
            began = time.perf_counter()
            response = client.post(url, content=body, headers=headers)
            times.append((time.perf_counter() - began) * 1000)
            _check(response)
    return times


def _check(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"the app answered HTTP {response.status_code}: {response.text[:300]}")
