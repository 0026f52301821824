"""`contactbot jobs list` and `contactbot jobs run <job id>`: the scheduled jobs by hand.

`list` shows every `@schedule` job of the enabled plugins with its cron line, time zone and
next run, read from the same triggers `contactbot run` schedules (bot.scheduler). `run` runs one
job now, in this process, and prints what it reports; an unknown id gets the list of ids.
Listed in `bot.cli.SUBCOMMAND_MODULES`, which calls `add_parser` and `run`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.config import ConfigError, Settings
from bot.registry import Registry
from storage.errors import UserError

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `jobs` with its actions `list` and `run` to the `contactbot` parser."""
    jobs = subparsers.add_parser("jobs", help="scheduled jobs: list them, run one now")
    actions = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="every scheduled job with its next run")
    run_one = actions.add_parser("run", help="run one scheduled job now")
    run_one.add_argument("job_id", metavar="JOB_ID", help="a job id from `contactbot jobs list`")
    return jobs


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import plugin_registry

    registry = plugin_registry(settings)
    if args.jobs_command == "list":
        return _list(settings, registry)
    return _run(settings, registry, args.job_id)


def _ids(registry: Registry) -> str:
    return ", ".join(sorted(registry.schedules)) or "none (no enabled plugin has one)"


def _list(settings: Settings, registry: Registry) -> int:
    from bot.scheduler import job_timing

    if not registry.schedules:
        print("No scheduled jobs: no enabled plugin has one.")
        return 0
    rows = [("job", "plugin", "cron", "time zone", "next run")]
    for job_id in sorted(registry.schedules):
        spec = registry.schedules[job_id]
        timing = job_timing(spec, registry)
        upcoming = timing.next_run()
        when = upcoming.strftime("%Y-%m-%d %H:%M %Z") if upcoming else "never"
        rows.append((job_id, spec.plugin, timing.cron, timing.timezone, when))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _run(settings: Settings, registry: Registry, job_id: str) -> int:
    from bot.runtime import build_app
    from bot.scheduler import run_job

    spec = registry.schedules.get(job_id)
    if spec is None:
        print(f"contactbot: no scheduled job `{job_id}`. Jobs: {_ids(registry)}.", file=sys.stderr)
        return 2
    app = build_app(settings, registry)
    try:
        result = run_job(spec, app)
    except (ConfigError, UserError):
        raise  # a setting or input to fix: bot.cli.main prints it (exit status 2)
    except Exception as error:
        log.debug("job %s failed", job_id, exc_info=True)
        print(f"contactbot: job {job_id} failed: {error}", file=sys.stderr)
        return 1
    finally:
        app.close()
    print(result if result is not None else f"Ran {job_id}.")
    return 0


def interrupted(_args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it): a job runs in one transaction."""
    return "the job's unfinished transaction was rolled back; run it again."
