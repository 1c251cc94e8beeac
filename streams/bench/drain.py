"""How a group drained the prefilled backlog: its lag sampled while it caught up, and the
rate over the middle of the drain.

The throughput phase's ``events_per_s`` runs from the first output to the last commit,
so it includes what happens at a start: the group's first assignment, a second
worker's join and the rebalance it causes, the store's warm-up. The steady rate is
taken between the moments the lag first fell to ``HIGH`` and to ``LOW`` of the backlog:
the drain once the group was at work, before its tail. When the load is written while the
group runs (``--join-first``) the lag first rises: the drain is counted from its peak."""

from __future__ import annotations

from collections.abc import Sequence

HIGH, LOW = 0.9, 0.1


def steady_rate(lags: Sequence[tuple[float, int]]) -> float | None:
    """Events/s between the lag's first fall, after its peak (the backlog), to ``HIGH``
    and to ``LOW`` of it; ``lags``: (wall-clock time, lag) in time order. None when the
    drain was too quick for two such samples."""
    if not lags:
        return None
    backlog = max(lag for _, lag in lags)
    if backlog <= 0:
        return None
    peak = next(i for i, (_, lag) in enumerate(lags) if lag == backlog)
    lags = lags[peak:]
    high = next(((t, lag) for t, lag in lags if lag <= HIGH * backlog), None)
    low = next(((t, lag) for t, lag in lags if lag <= LOW * backlog), None)
    if high is None or low is None or low[0] <= high[0]:
        return None
    return round((high[1] - low[1]) / (low[0] - high[0]), 1)
