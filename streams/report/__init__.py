"""``journeys report``: the journeys measured from a replay (funnel, goals by cohort and
variant, lift with intervals, triggers), as a table, JSON or one HTML page."""
