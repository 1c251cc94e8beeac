"""Recovery benchmark entry point: ``python tests/bench/bench_recovery.py [--customers N ...]``.

See :mod:`streams.bench.recovery`: writes bench-results/recovery.json and prints the
figures. Needs a running broker (``deploy/kafka/kafka.sh start``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streams.bench import recovery, recovery_group

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench_recovery.py", description=recovery.__doc__)
    recovery.add_arguments(parser)
    args = parser.parse_args()
    raise SystemExit((recovery_group.main if args.group else recovery.main)(args))
