"""Run the delivery worker as a background task (inside `fellesplan serve`) or in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from app.db.engine import Database
from app.subscriptions.settings import subscription_settings
from app.subscriptions.worker import Worker

log = logging.getLogger("fellesplan.subscriptions")


class BackgroundWorker:
    """A worker task bound to the application's lifespan."""

    def __init__(self, db: Database) -> None:
        self.worker = Worker(db)
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start serving subscriptions in the background."""
        self.task = asyncio.create_task(self.worker.run(self.stop_event), name="subscription-worker")

    async def stop(self) -> None:
        """Finish the current pass (bounded by the delivery timeout), then close."""
        self.stop_event.set()
        if self.task is not None:
            timeout = self.worker.sub.subscription_timeout_seconds + 5
            try:
                await asyncio.wait_for(self.task, timeout)
            except TimeoutError:
                log.warning("subscription worker did not stop in %ss; cancelled (leases expire)", timeout)
        await self.worker.close()


def start_in_app(db: Database) -> BackgroundWorker | None:
    """The in-process worker of `fellesplan serve`, unless FELLESPLAN_SUBSCRIPTION_WORKER_ENABLED=false."""
    if not subscription_settings(db.settings).subscription_worker_enabled:
        return None
    runner = BackgroundWorker(db)
    runner.start()
    return runner


async def run_foreground(db: Database) -> None:
    """`fellesplan worker`: serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    worker = Worker(db)
    log.info("subscription worker %s started", worker.name)
    try:
        await worker.run(stop)
    finally:
        await worker.close()
        await db.dispose()
