"""Experiments: which variant of a message a customer gets, and their stable buckets.

An emit may declare weighted variants (``variants: {short: 50, long: 50}``, percents
adding up to 100) of an experiment (``experiment:``, default the rule id). A customer's
variant is decided by a bucket 0..9999 computed like the holdout's: sha256 of the
customer id, the journey name and the experiment name (the holdout hashes the first two
only), so that

* it is the same everywhere (worker, replay, report) and at every firing, with no state;
* it is independent of the holdout (another hash input), so the control group holds
  every variant in its proportion and each variant can be compared with it;
* it survives new versions of the journey, re-entries and rule edits while the
  experiment's name and weights stay (renaming the experiment reshuffles everyone;
  changing the weights moves only the customers between the changed cut points).

Variants take consecutive ranges of buckets in declaration order: with
``{short: 50, long: 50}``, buckets 0..4999 get ``short``, 5000..9999 ``long``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache

BUCKETS = 10_000
Cuts = tuple[tuple[str, int], ...]  # (variant, first bucket past its range), in order


def bucket(*parts: str) -> int:
    """Bucket 0..9999 from sha256 of the parts joined by the unit separator."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


@lru_cache(maxsize=65536)
def variant_bucket(customer_id: str, journey: str, experiment: str) -> int:
    """The customer's bucket in one experiment of one journey."""
    return bucket(customer_id, journey, experiment)


def cuts(weights: Mapping[str, int]) -> Cuts:
    """Each variant with the end of its bucket range (percent weights, in order)."""
    out: list[tuple[str, int]] = []
    end = 0
    for name, weight in weights.items():
        end += weight * BUCKETS // 100
        out.append((name, end))
    return tuple(out)


def variant_of(ranges: Cuts, customer_id: str, journey: str, experiment: str) -> str:
    """The variant a customer gets (the last one when the weights add up to less)."""
    b = variant_bucket(customer_id, journey, experiment)
    for name, end in ranges:
        if b < end:
            return name
    return ranges[-1][0]
