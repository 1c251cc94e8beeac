"""When each SDK call reaches the collector: sends, batches, delays and retries.

A browser (analytics.js) sends each call at once, one request per call. The backend
(analytics-python) flushes its queue within half a second. The mobile app queues calls
and flushes them together when ``flush_at`` are queued or ``flush_every`` seconds after
the first one, except when the flush is held back (the app closed, the phone offline):
then the queue leaves minutes to hours later, in one batch, ``sentAt`` well after each
``timestamp``. Any request may go unacknowledged and be sent again, the same messages
with the same ``messageId``s, seconds later: the collector then stores them twice.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from streams.sim.client import APP, SERVER, Call, Device
from streams.sim.traffic import Realistic

ACK_TIMEOUT = 10.0  # an SDK gives up waiting for the answer after this, then backs off
BACKOFF_MAX = 60.0
RETRY_LATEST = ACK_TIMEOUT + BACKOFF_MAX + 2.0  # a retry's arrival after the original's


@dataclass(frozen=True, slots=True)
class Request:
    """One request to the collector: when it left the device and when it arrived (true
    time, epoch seconds), its calls, and whether it is a retry of an earlier one."""

    device: Device
    sent: float
    arrival: float
    calls: tuple[Call, ...]
    retry: bool = False


def _latency(rng: random.Random, device: Device) -> float:
    return rng.uniform(0.005, 0.1) if device == SERVER else rng.uniform(0.05, 1.5)


def _request(rng: random.Random, device: Device, sent: float, calls: Iterable[Call]) -> Request:
    return Request(device, sent, sent + _latency(rng, device), tuple(calls))


def _held(rng: random.Random, traffic: Realistic) -> float:
    """How long a held-back flush waits: log-normal around the median, within bounds."""
    drawn = rng.lognormvariate(math.log(traffic.delay_median), 1.0)
    return min(traffic.delay_max, max(traffic.flush_every, drawn))


def _app(calls: list[Call], traffic: Realistic, rng: random.Random) -> list[Request]:
    """The app's queue: one request per flush."""
    out: list[Request] = []
    queue: list[Call] = []
    flush = 0.0
    for call in calls:
        if queue and call.event.t >= flush:
            out.append(_request(rng, APP, flush, queue))
            queue = []
        if not queue:
            held = rng.random() < traffic.offline
            wait = _held(rng, traffic) if held else rng.uniform(1.0, traffic.flush_every)
            flush = call.event.t + wait
        queue.append(call)
        if len(queue) >= traffic.flush_at:
            out.append(_request(rng, APP, call.event.t + rng.uniform(0.01, 0.2), queue))
            queue = []
    if queue:
        out.append(_request(rng, APP, flush, queue))
    return out


def deliver(calls: list[Call], traffic: Realistic, rng: random.Random) -> list[Request]:
    """Every request of one person's devices (``calls`` in time order), retries included."""
    requests = _app([c for c in calls if c.device == APP], traffic, rng)
    for call in calls:
        if call.device != APP:
            pause = rng.uniform(0.01, 0.5) if call.device == SERVER else rng.uniform(0.001, 0.05)
            requests.append(_request(rng, call.device, call.event.t + pause, (call,)))
    requests.sort(key=lambda r: r.sent)
    out = []
    for request in requests:
        out.append(request)
        if rng.random() < traffic.retry:
            again = request.sent + ACK_TIMEOUT + rng.uniform(0.0, BACKOFF_MAX)
            arrival = again + _latency(rng, request.device)
            out.append(Request(request.device, again, arrival, request.calls, retry=True))
    return out
