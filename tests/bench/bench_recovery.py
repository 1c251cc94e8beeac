"""Recovery benchmark entry point: ``python tests/bench/bench_recovery.py [--customers N ...]``.

See :mod:`streams.bench.recovery`: writes bench-results/recovery.json and prints the
figures. Needs a running broker (``deploy/kafka/kafka.sh start``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streams.bench.recovery import __doc__ as description
from streams.bench.recovery import add_arguments, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench_recovery.py", description=description)
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
