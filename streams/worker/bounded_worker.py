"""The worker process: faust's ``Worker`` with a hard deadline on the graceful stop.

SIGTERM (or SIGINT) starts faust's graceful stop (commit, flush, leave the group) and
arms a timer: if the stop takes longer than the deadline, the process exits with
:data:`EXIT_STOP_TIMED_OUT`. faust's terminal spinner is off: it sets the root logger to
DEBUG, which makes every library debug call build a log record (about 8% of the event
loop's time, profiled).

Imported by :func:`streams.worker.main.run` only when a worker runs (the CLI does not
load faust to parse its arguments).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import faust

log = logging.getLogger(__name__)

EXIT_STOP_TIMED_OUT = 3


class BoundedWorker(faust.Worker):
    """faust's worker, with a hard deadline (``stop_timeout`` seconds) on the graceful
    stop and no terminal spinner."""

    def __init__(self, app: faust.App, *, stop_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.stop_timeout = stop_timeout
        # faust creates the spinner in __init__ and itself turns it off this way
        self.spinner = None

    # faust private: mode's unix signal handlers call these (overridden, super called)
    def _on_sigterm(self) -> None:
        arm_deadline(self.stop_timeout)
        super()._on_sigterm()  # faust private: its own handler, which stops the worker

    def _on_sigint(self) -> None:
        arm_deadline(self.stop_timeout)
        super()._on_sigint()  # faust private: its own handler, which stops the worker


def arm_deadline(seconds: float) -> None:
    """Exit the process (:data:`EXIT_STOP_TIMED_OUT`) in ``seconds`` unless it ended."""

    def expire() -> None:
        log.error("graceful stop exceeded %.1f s, exiting", seconds)
        logging.shutdown()
        os._exit(EXIT_STOP_TIMED_OUT)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
