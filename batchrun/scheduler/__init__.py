"""The async core of `apply` (see `scheduler.Scheduler`) and its parts."""

from batchrun.scheduler.exporting import ResultsExporter
from batchrun.scheduler.options import RunStats, SchedulerOptions
from batchrun.scheduler.scheduler import Scheduler

__all__ = ["ResultsExporter", "RunStats", "Scheduler", "SchedulerOptions"]
