"""Processing (SPEC §5): the scheduled jobs that move staged rows into the subledger and post
the open period's revenue. The jobs live in `services.processing`; this is their one entry point.
"""

from __future__ import annotations

from revrec.services.processing.outcome import JobResult
from revrec.services.processing.periods import open_next_period
from revrec.services.processing.runner import JOB_ORDER, run

__all__ = ["JOB_ORDER", "JobResult", "open_next_period", "run"]
