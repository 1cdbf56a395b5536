"""`batchrun diff`: what changed between two batch instances of a spec.

    diff = compute_diff(old_rows, new_rows, from_key="2026-12-03", to_key="2026-12-04",
                        ignore=["$.items[*].seen_at"])
    print("\\n".join(render_text(diff)))          # or diff.as_json()
    sys.exit(1 if diff.has_differences else 0)

`core` compares (pure), `paths` names and ignores fields (pure), `render` writes text
(pure), `sources` reads instances and writes a diff file.
"""

from batchrun.diffing.core import (
    MISSING,
    BatchDiff,
    ChangedTask,
    DiffInputError,
    FieldChange,
    TaskEntry,
    compute_diff,
    output_changes,
)
from batchrun.diffing.paths import IgnoreRules, format_path, parse_path
from batchrun.diffing.render import render_text, show_value
from batchrun.diffing.sources import InstanceRows, ResultsDirInstances, write_diff_json

__all__ = [
    "MISSING",
    "BatchDiff",
    "ChangedTask",
    "DiffInputError",
    "FieldChange",
    "IgnoreRules",
    "InstanceRows",
    "ResultsDirInstances",
    "TaskEntry",
    "compute_diff",
    "format_path",
    "output_changes",
    "parse_path",
    "render_text",
    "show_value",
    "write_diff_json",
]
