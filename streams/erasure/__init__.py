"""``journeys erase``: the right to be forgotten from the command line (no faust)."""
