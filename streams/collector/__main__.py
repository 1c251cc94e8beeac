"""``python -m streams.collector [OPTIONS]``: the same as ``journeys collect [OPTIONS]``."""

import sys

from streams.cli import main

raise SystemExit(main(["collect", *sys.argv[1:]]))
