"""How the simulated touchpoints travel: ``tidy`` (the default) or ``realistic``.

Tidy traffic is one server sending each customer's events in order, already identified:
the rare case, and the one the demo, the benchmarks and the golden outputs are pinned
on. Realistic traffic is what SDKs send (``/work/shared/PRODUCT.md``, "What real client
traffic looks like"): browsers that track a visitor, and even the sign-up, under an
``anonymousId`` before ``identify``; mobile apps that queue events and flush them in
batches, minutes to hours late when offline; retries of what was not acknowledged; a few
device clocks off. :class:`Realistic` holds its knobs, every one of them seeded.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Literal

Traffic = Literal["tidy", "realistic"]
TRAFFICS: tuple[Traffic, ...] = ("tidy", "realistic")

_SHARES = ("anonymous_first", "other_device", "browsing", "app", "offline", "retry", "skewed")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0}
_DURATION = re.compile(r"^(\d*\.?\d+)(ms|s|m|h|d)?$")


def parse_duration(text: str) -> float:
    """``90`` or ``90s``, ``20m``, ``6h``, ``2d``: seconds."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 30s, 20m, 6h, 2d)")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


@dataclass(frozen=True, slots=True)
class Realistic:
    """The knobs of realistic traffic (shares are probabilities, times are seconds).

    The delay is the one of an app flush held back (app closed, device offline): drawn
    log-normally around ``delay_median``, never above ``delay_max``; a flush not held
    back leaves within ``flush_every`` (or as soon as ``flush_at`` events are queued).
    """

    anonymous_first: float = 0.5  # sign-ups tracked under the anonymousId before identify
    other_device: float = 0.2  # of those, identified first on another device
    browsing: float = 0.3  # other sign-ups that browsed anonymously before
    app: float = 0.6  # people who also use the mobile app
    offline: float = 0.2  # app flushes held back
    delay_median: float = 20 * 60.0
    delay_max: float = 6 * 3_600.0
    flush_every: float = 30.0
    flush_at: int = 20
    retry: float = 0.02  # requests sent twice (same messageIds)
    skewed: float = 0.05  # devices whose clock is off
    skew_max: float = 300.0

    def __post_init__(self) -> None:
        for name in _SHARES:
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a share in [0, 1]: {getattr(self, name)}")
        if not 0 < self.delay_median <= self.delay_max:
            raise ValueError("the delay's median must be > 0 and at most its maximum")
        if self.flush_every <= 0 or self.flush_at < 1 or self.skew_max < 0:
            raise ValueError("flush_every > 0, flush_at >= 1 and skew_max >= 0 are needed")

    @property
    def latest(self) -> float:
        """The longest a message can take from its event to the collector, retries aside
        (a flush is at most ``max(flush_every, delay_max)`` late, plus the network)."""
        return max(self.flush_every, self.delay_max) + 2.0


DEFAULTS = Realistic()


def add_traffic_arguments(parser: argparse.ArgumentParser, default: str = "tidy") -> None:
    group = parser.add_argument_group("traffic (what the clients send, and when)")
    group.add_argument(
        "--traffic",
        choices=TRAFFICS,
        default=default,
        help="tidy: one server, in order, identified; realistic: what web and app SDKs "
        "send (Segment messages as the collector stores them, in arrival order) "
        "(default %(default)s)",
    )
    group.add_argument(
        "--anonymous-first",
        type=float,
        metavar="SHARE",
        default=DEFAULTS.anonymous_first,
        help="realistic: share of sign-ups tracked before identify (default %(default)s)",
    )
    group.add_argument(
        "--delay",
        metavar="MEDIAN:MAX",
        default="20m:6h",
        help="realistic: delay of a held-back app flush, log-normal around MEDIAN, "
        "at most MAX (default %(default)s)",
    )
    group.add_argument(
        "--offline-share",
        type=float,
        metavar="SHARE",
        default=DEFAULTS.offline,
        help="realistic: share of app flushes held back (default %(default)s)",
    )
    group.add_argument(
        "--retry-share",
        type=float,
        metavar="SHARE",
        default=DEFAULTS.retry,
        help="realistic: share of requests sent twice (default %(default)s)",
    )
    group.add_argument(
        "--skew-share",
        type=float,
        metavar="SHARE",
        default=DEFAULTS.skewed,
        help="realistic: share of devices whose clock is off by up to 5 minutes "
        "(default %(default)s)",
    )


def traffic_from(args: argparse.Namespace) -> Realistic | None:
    """The traffic options: None for tidy traffic, else the realistic knobs."""
    if args.traffic == "tidy":
        return None
    median, _, most = str(args.delay).partition(":")
    return Realistic(
        anonymous_first=args.anonymous_first,
        browsing=args.anonymous_share,
        offline=args.offline_share,
        delay_median=parse_duration(median),
        delay_max=parse_duration(most) if most else max(parse_duration(median), 6 * 3_600.0),
        retry=args.retry_share,
        skewed=args.skew_share,
    )


__all__ = [
    "TRAFFICS",
    "Realistic",
    "Traffic",
    "add_traffic_arguments",
    "parse_duration",
    "traffic_from",
]
