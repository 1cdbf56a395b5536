"""The async core of `apply` (see `scheduler.Scheduler`) and its parts."""

from batchrun.scheduler.exporting import ResultsExporter
from batchrun.scheduler.options import SchedulerOptions
from batchrun.scheduler.scheduler import RunStats, Scheduler

__all__ = ["ResultsExporter", "RunStats", "Scheduler", "SchedulerOptions"]
