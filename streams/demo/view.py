"""What ``journeys demo`` shows: live progress lines and the closing summary (pure, no I/O)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import orjson

from streams.sim.population import MALFORMED_PREFIX, Message

STAGES = ("prospect", "onboarding", "active", "at_risk", "lapsed")


@dataclass
class DemoState:
    """Everything the demo has seen so far: produced, processed, triggered, rejected."""

    started: float
    produced: int = 0
    expected_dead: Counter[str] = field(default_factory=Counter)
    produced_done: bool = False
    processed: int = 0
    triggers: Counter[str] = field(default_factory=Counter)
    customers_by_kind: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    reached: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    stage_of: dict[str, str] = field(default_factory=dict)
    live_stages: dict[str, int] = field(default_factory=dict)  # from the worker's /metrics
    dead: Counter[str] = field(default_factory=Counter)
    rate_mark: tuple[float, int] = (0.0, 0)
    rate: float = 0.0

    def on_produced(self, message: Message) -> None:
        self.produced += 1
        if message.kind.startswith(MALFORMED_PREFIX):
            self.expected_dead[message.kind.removeprefix(MALFORMED_PREFIX)] += 1

    def on_output(self, value: bytes) -> None:
        """A record of the triggers or the dead-letter topic."""
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            return
        if "trigger_id" in doc:
            kind, customer = str(doc["kind"]), str(doc["customer_id"])
            self.triggers[kind] += 1
            self.customers_by_kind[kind].add(customer)
            for stage in (doc.get("stage_before"), doc.get("stage_after")):
                if stage:
                    self.reached[str(stage)].add(customer)
            self.stage_of[customer] = str(doc.get("stage_after") or "")
        elif "reason" in doc:
            self.dead[str(doc["reason"])] += 1

    def tick(self, now: float, processed: int) -> None:
        """Update the processing rate (events/s over the last tick)."""
        self.processed = processed
        then, before = self.rate_mark
        if then and now > then:
            self.rate = (processed - before) / (now - then)
        self.rate_mark = (now, processed)

    def stages(self) -> dict[str, int]:
        if self.live_stages:
            return dict(self.live_stages)
        return dict(Counter(s for s in self.stage_of.values() if s))

    def progress(self, now: float, total: int) -> list[str]:
        done = "done" if self.produced_done else f"{self.produced:,}/{total:,}"
        top = ", ".join(f"{k} {n:,}" for k, n in self.triggers.most_common(6))
        stages = self.stages()
        stage_line = "  ".join(f"{s} {stages.get(s, 0):,}" for s in STAGES if s in stages)
        dead = ", ".join(f"{k} {n}" for k, n in sorted(self.dead.items())) or "none"
        return [
            f"[{now - self.started:5.0f}s] produced {done}  processed {self.processed:,} "
            f"({self.rate:,.0f} events/s)  triggers {sum(self.triggers.values()):,}  "
            f"dead letters {sum(self.dead.values()):,}",
            f"  triggers by kind: {top or '-'}",
            f"  stages: {stage_line or '-'}",
            f"  dead letters: {dead}",
        ]


def summary(state: DemoState, customers: int, metrics_url: str, elapsed: float) -> list[str]:
    lines = [
        "",
        f"journeys demo: {customers:,} simulated customers, {state.produced:,} messages, "
        f"{state.processed:,} processed in {elapsed:.0f} s",
        "",
        "stage funnel (customers who reached each stage):",
    ]
    for stage in STAGES:
        reached = customers if stage == "prospect" else len(state.reached.get(stage, ()))
        share = reached / customers if customers else 0.0
        lines.append(f"  {stage:<11} {reached:>7,}  {share:6.1%}  {'#' * round(share * 40)}")
    stages = state.stages()
    if stages:
        now = ", ".join(f"{s} {stages[s]:,}" for s in STAGES if s in stages)
        lines.append(f"  now: {now}")
    lines += ["", "triggers (count, customers):"]
    for kind, n in sorted(state.triggers.items()):
        lines.append(f"  {kind:<32} {n:>7,} {len(state.customers_by_kind[kind]):>7,}")
    if not state.triggers:
        lines.append("  none")
    lines += ["", "dead letters by reason (seen / sent malformed):"]
    for reason in sorted(set(state.dead) | set(state.expected_dead)):
        seen, sent = state.dead.get(reason, 0), state.expected_dead.get(reason, 0)
        mark = "ok" if seen == sent else "MISMATCH"
        if reason == TOO_LATE and not sent:  # a device offline past the allowed lateness
            mark = "late app batches"
        lines.append(f"  {reason:<24} {seen:>5} / {sent:<5} {mark}")
    lines += ["", f"metrics were at {metrics_url}"]
    return lines


TOO_LATE = "too_late"  # not malformed: realistic app traffic has some beyond the lateness


def dead_letters_match(state: DemoState) -> bool:
    seen = +state.dead
    seen.pop(TOO_LATE, None)
    return seen == +state.expected_dead
