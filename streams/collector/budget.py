"""The in-flight budget: how many request bytes the collector holds at once.

A request takes its share before its body is read and gives it back once the broker has
acknowledged (or definitively failed) every message of it, so memory stays bounded
under any load: past the budget a request is answered 503 with ``Retry-After`` at once,
and the SDK sends it again later. The share covers the body as received, then its
decompressed size; the parsed messages and the producer's buffers are a small multiple
of it. One event loop, so no lock.
"""

from __future__ import annotations

__all__ = ["Budget"]


class Budget:
    """A capacity in bytes, taken and given back by requests."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("the budget must be positive")
        self.capacity = capacity
        self.used = 0

    def take(self, size: int) -> bool:
        """Take ``size`` bytes when they fit; ``False`` (nothing taken) when not."""
        if size < 0:
            raise ValueError("size must be >= 0")
        if self.used + size > self.capacity:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        """Give back ``size`` bytes taken earlier."""
        if size < 0 or size > self.used:
            raise ValueError(f"giving back {size} bytes, {self.used} are taken")
        self.used -= size
