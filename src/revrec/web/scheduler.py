"""The scheduler thread of `revrec serve`: every few seconds, `services.schedule.tick` with a
Context of its own (user `scheduler`, the clock read at each tick)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from revrec.services import schedule
from revrec.services.context import Context

log = logging.getLogger("revrec.scheduler")


class Scheduler:
    def __init__(self, engine: sa.Engine, seconds: float, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="revrec-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for ran in schedule.tick(Context(self._engine, schedule.USER, self._clock())):
                    log.info("job %s ran: %s", ran.job, "ok" if ran.ok else ran.result)
            except Exception:
                log.exception("the scheduler's tick failed; it goes on")
            self._stop.wait(self._seconds)
