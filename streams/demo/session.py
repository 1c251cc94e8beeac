"""The demo's event loop: produce, watch the worker's output, refresh the display, stop."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.topics import by_role, topic_specs
from streams.demo.view import DemoState
from streams.kafka.config import producer_config
from streams.kafka.offsets import Offsets
from streams.kafka.outputs import read_outputs
from streams.settings import Settings
from streams.sim.output import produce
from streams.sim.population import Message

QUIET_S = 4.0  # caught up and no new output for this long: done


async def run(
    args: argparse.Namespace,
    settings: Settings,
    worker: subprocess.Popen[bytes],
    metrics_url: str,
    scrape: Callable[[str], dict[str, int]],
    messages: list[Message],
) -> DemoState:
    """The demo's loop, in three steps: start reading the outputs and sending
    ``messages``; watch the worker every second until it is done, exits or the time
    limit passes (:class:`_Watch`); stop reading and sending, then take the last stages."""
    specs = by_role(topic_specs(settings.topic_prefix, settings.partitions))
    state = DemoState(started=time.monotonic())
    stop = asyncio.Event()
    outputs = [specs["triggers"].name, specs["deadletters"].name]
    reader = asyncio.create_task(
        read_outputs(settings, outputs, stop, lambda value, _now: state.on_output(value))
    )
    producer = asyncio.create_task(_produce(messages, specs["touchpoints"].name, settings, state))
    watch = _Watch(
        state=state,
        app_id=settings.app_id,
        topics=(specs["touchpoints"].name, specs["keyed"].name),
        offsets=Offsets(settings),
        worker=worker,
        status=lambda: scrape(metrics_url),
        total=len(messages),
        max_seconds=args.max_seconds,
    )
    try:
        while not await watch.tick():
            pass
    finally:
        stop.set()
        producer.cancel()
        await asyncio.gather(reader, producer, return_exceptions=True)
        watch.offsets.close()
    state.live_stages = await asyncio.to_thread(watch.status) or state.live_stages
    if not watch.tty:
        _draw(state.progress(time.monotonic(), len(messages)), 0, False, 0)
    return state


async def _produce(
    messages: list[Message], topic: str, settings: Settings, state: DemoState
) -> None:
    await produce(messages, topic, producer_config(settings), None, state.on_produced)
    state.produced_done = True


@dataclass
class _Watch:
    """The demo's view of the worker, refreshed once a second (:meth:`tick`)."""

    state: DemoState
    app_id: str
    topics: tuple[str, str]  # touchpoints, keyed
    offsets: Offsets
    worker: subprocess.Popen[bytes]
    status: Callable[[], dict[str, int]]  # the worker's stage gauges, scraped
    total: int
    max_seconds: float
    tty: bool = field(default_factory=sys.stdout.isatty)
    drawn: int = 0
    ticks: int = 0
    last_outputs: int = -1
    last_change: float = field(default_factory=time.monotonic)

    async def tick(self) -> bool:
        """Wait a second, refresh the progress and the display; whether the demo is done."""
        await asyncio.sleep(1.0)
        self.ticks += 1
        now = time.monotonic()
        await self._refresh(now)
        if self.worker.poll() is not None:
            print(f"demo: the worker exited with {self.worker.returncode}", file=sys.stderr)
            return True
        if now > self.state.started + self.max_seconds:
            print(f"demo: stopping at the {self.max_seconds:.0f} s limit", file=sys.stderr)
            return True
        return await self._caught_up(now)

    async def _refresh(self, now: float) -> None:
        state = self.state
        committed = await asyncio.to_thread(self.offsets.committed, self.app_id)
        # the journey agent's progress: the touchpoints it committed (each read once,
        # processed where it was read or re-keyed; the source writes no markers)
        processed = sum(n for tp, n in committed.items() if tp.topic == self.topics[0])
        state.tick(now, processed)
        if self.ticks % 2 == 0:
            state.live_stages = await asyncio.to_thread(self.status) or {}
        self.drawn = _draw(state.progress(now, self.total), self.drawn, self.tty, self.ticks)
        outputs = sum(state.triggers.values()) + sum(state.dead.values())
        if outputs != self.last_outputs:
            self.last_outputs, self.last_change = outputs, now

    async def _caught_up(self, now: float) -> bool:
        """Everything sent, no new output for a while, and the worker's lag is nought."""
        if not self.state.produced_done or now - self.last_change <= QUIET_S:
            return False
        touchpoints, keyed = self.topics
        lag = await asyncio.to_thread(self.offsets.lag, self.app_id, [touchpoints])
        lag += await asyncio.to_thread(self.offsets.lag, self.app_id, [keyed], True)
        return lag == 0


def _draw(lines: list[str], drawn: int, tty: bool, tick: int) -> int:
    """Redraw the progress block on a terminal; elsewhere print it every 10 seconds."""
    if tty:
        if drawn:
            sys.stdout.write(f"\x1b[{drawn}F\x1b[J")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return len(lines)
    if tick % 10 == 0:
        print("\n".join(lines), flush=True)
    return 0
