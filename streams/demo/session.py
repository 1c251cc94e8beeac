"""The demo's event loop: produce, watch the worker's output, refresh the display, stop."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

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
    specs = by_role(topic_specs(settings.topic_prefix, settings.partitions))
    touchpoints, keyed = specs["touchpoints"].name, specs["keyed"].name
    state = DemoState(started=time.monotonic())
    stop = asyncio.Event()

    def on_value(value: bytes, _now: float) -> None:
        state.on_output(value)

    reader = asyncio.create_task(
        read_outputs(settings, [specs["triggers"].name, specs["deadletters"].name], stop, on_value)
    )

    async def producing() -> None:
        await produce(messages, touchpoints, producer_config(settings), None, state.on_produced)
        state.produced_done = True

    producer = asyncio.create_task(producing())
    offsets = Offsets(settings)
    tty = sys.stdout.isatty()
    drawn = 0
    last_outputs, last_change = -1, time.monotonic()
    deadline = state.started + args.max_seconds
    ticks = 0
    try:
        while True:
            await asyncio.sleep(1.0)
            ticks += 1
            now = time.monotonic()
            committed = await asyncio.to_thread(offsets.committed, settings.app_id)
            # the journey agent's progress: the touchpoints it committed (each read once,
            # processed where it was read or re-keyed; the source writes no markers)
            processed = sum(n for tp, n in committed.items() if tp.topic == touchpoints)
            state.tick(now, processed)
            if ticks % 2 == 0:
                state.live_stages = await asyncio.to_thread(scrape, metrics_url) or {}
            drawn = _draw(state.progress(now, len(messages)), drawn, tty, ticks)
            outputs = sum(state.triggers.values()) + sum(state.dead.values())
            if outputs != last_outputs:
                last_outputs, last_change = outputs, now
            if worker.poll() is not None:
                print(f"demo: the worker exited with {worker.returncode}", file=sys.stderr)
                break
            if now > deadline:
                print(f"demo: stopping at the {args.max_seconds:.0f} s limit", file=sys.stderr)
                break
            if state.produced_done and now - last_change > QUIET_S:
                lag = await asyncio.to_thread(offsets.lag, settings.app_id, [touchpoints])
                lag += await asyncio.to_thread(offsets.lag, settings.app_id, [keyed], True)
                if lag == 0:
                    break
    finally:
        stop.set()
        producer.cancel()
        await asyncio.gather(reader, producer, return_exceptions=True)
        offsets.close()
    state.live_stages = await asyncio.to_thread(scrape, metrics_url) or state.live_stages
    if not tty:
        _draw(state.progress(time.monotonic(), len(messages)), 0, False, 0)
    return state


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
