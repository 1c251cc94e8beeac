"""In-process runtime for agent tests (faust ``test_context``, memory://, no broker)."""

from __future__ import annotations

from typing import Any

from streams.app import Runtime, create_app
from streams.settings import Settings


class Sent:
    """Stands in for a faust topic: records what the agent sends."""

    def __init__(self) -> None:
        self.messages: list[tuple[Any, Any]] = []

    async def send(self, *, key: Any = None, value: Any = None, **_: Any) -> None:
        self.messages.append((key, value))


def runtime(definitions: list[Any] | None = None) -> Runtime:
    """A runtime for in-process tests; build it inside the test's event loop."""
    settings = Settings(store="memory://", topic_prefix="unit", app_id="unit", partitions=2)
    rt = create_app(settings, definitions=definitions if definitions is not None else [])
    rt.app.finalize()
    rt.app.flow_control.resume()
    rt.keyed = Sent()
    rt.deadletters = Sent()
    rt.wakeups = Sent()
    rt.triggers = Sent()
    rt.families = {family: Sent() for family in rt.families}
    return rt


def close(rt: Runtime) -> None:
    """Close the event loop faust's (never started) consumer thread created."""
    consumer = getattr(rt.app, "_consumer", None)
    thread = getattr(consumer, "_thread", None)
    loop = getattr(thread, "thread_loop", None)
    if loop is not None and not loop.is_closed():
        loop.close()
