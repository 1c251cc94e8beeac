"""``python -m streams.worker [OPTIONS]``: the same as ``journeys worker [OPTIONS]``."""

import sys

from streams.cli import main

raise SystemExit(main(["worker", *sys.argv[1:]]))
