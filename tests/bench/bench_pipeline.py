"""Benchmark harness entry point: ``python tests/bench/bench_pipeline.py [--events N ...]``.

Same as ``journeys bench``: writes bench-results/pipeline.json and prints a table.
Needs a running broker (``deploy/kafka/kafka.sh start``; JOURNEYS_BOOTSTRAP_SERVERS).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streams.bench.cli import add_arguments, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench_pipeline.py", description=main.__module__)
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
