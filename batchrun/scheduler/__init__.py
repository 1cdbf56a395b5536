"""The engine of `batchrun apply` (see `engine.Scheduler`)."""

from batchrun.scheduler.engine import ApplyOptions, ApplyStats, Scheduler
from batchrun.scheduler.exporting import ResultsExporter

__all__ = ["ApplyOptions", "ApplyStats", "ResultsExporter", "Scheduler"]
