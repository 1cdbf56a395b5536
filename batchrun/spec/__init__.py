"""batchrun's spec language: load, validate and expand a batch spec file.

spec = load_spec("jobs/prices.yaml")      # raises SpecError listing every problem
for task in spec.tasks:
    request = task.request_for_attempt(1)  # body, headers, query, ready to send
spec.warnings                              # valid, but likely not what was meant
spec.halt, spec.diff_ignore                # batch-wide policies for nightly jobs
"""

from batchrun.spec.batch import (
    AttemptRequest,
    Backoff,
    BatchSpec,
    ExportSettings,
    HaltPolicy,
    PollPolicy,
    RetryPolicy,
    TaskSpec,
)
from batchrun.spec.errors import SourceLocation, SpecError, SpecIssue
from batchrun.spec.load import SpecCheck, check_spec, load_spec
from batchrun.spec.models import spec_json_schema

__all__ = [
    "AttemptRequest",
    "Backoff",
    "BatchSpec",
    "ExportSettings",
    "HaltPolicy",
    "PollPolicy",
    "RetryPolicy",
    "SourceLocation",
    "SpecCheck",
    "SpecError",
    "SpecIssue",
    "TaskSpec",
    "check_spec",
    "load_spec",
    "spec_json_schema",
]
