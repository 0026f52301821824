"""The plugins' `@schedule` jobs on an APScheduler 3.x BackgroundScheduler.

A job runs `handler(ctx)` on its cron line, through the dispatcher (`Dispatcher.run_job`), with
a JobContext (bot.contexts: settings, store, registry, the tick, `query`) as commands get a
Context. The plugin gives the default line; config may set another and a time zone per job
(through the plugin's `@config_table`: `[dupes] digest_cron` / `digest_timezone` for the
duplicate digest); a job without either runs
on its plugin's line in UTC. `contactbot run` starts this scheduler, and `contactbot jobs
list|run` reads the same triggers, so what `jobs list` shows is what `run` does."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import ConfigError
from bot.inputs import JobTick
from bot.registry import Registry, ScheduleSpec
from bot.runtime import App
from storage.clock import utcnow_aware

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class Timing:
    """When a job runs: its cron line in a time zone."""

    cron: str
    timezone: str

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=zoneinfo.ZoneInfo(self.timezone))

    def next_run(self, now: dt.datetime | None = None) -> dt.datetime | None:
        """The next time the job fires after `now` (aware), in the job's time zone."""
        now = now or utcnow_aware()
        return self.trigger().get_next_fire_time(None, now)


def job_timing(spec: ScheduleSpec, registry: Registry) -> Timing:
    """The job's line and zone as its plugin's configuration table sets them, else the
    plugin's own line in UTC."""
    cron, timezone = registry.job_timings().get(spec.job_id, (spec.cron, DEFAULT_TIMEZONE))
    return Timing(cron, timezone)


def run_job(spec: ScheduleSpec, app: App, now: dt.datetime | None = None) -> Any:
    """Run one job now through the dispatcher, logging what it reports (the scheduler logs its
    exceptions, `contactbot jobs run` prints them)."""
    tick = JobTick(spec.job_id, now or dt.datetime.now(dt.UTC))
    result = app.dispatcher.run_job(spec, tick)
    log.info("job %s: %s", spec.job_id, result if result is not None else "done")
    return result


def _run_scheduled(spec: ScheduleSpec, app: App) -> None:
    """A job's run on the schedule: a setting to fix is logged as its one-line message (it
    names the key), anything else with its traceback; the scheduler goes on either way."""
    try:
        run_job(spec, app)
    except ConfigError as error:
        log.error("job %s not run: %s", spec.job_id, error)
    except Exception:
        log.exception("job %s failed", spec.job_id)


def build_scheduler(app: App, registry: Registry | None = None) -> BackgroundScheduler:
    """A BackgroundScheduler (not started) with every scheduled job of the registry. A job is
    never run twice at once in this process, and missed runs are coalesced into one; across
    instances each job keeps its own lock (the digest's is in the database)."""
    registry = registry or app.registry
    scheduler = BackgroundScheduler(daemon=True, timezone=DEFAULT_TIMEZONE)
    for spec in registry.schedules.values():
        scheduler.add_job(
            _run_scheduled,
            job_timing(spec, registry).trigger(),
            args=(spec, app),
            id=spec.job_id,
            name=spec.job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    return scheduler
