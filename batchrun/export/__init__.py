"""The results directory: tables, per-task files, downloaded files and artifacts.

See `results_dir` for the layout; every file is written atomically (`atomic`), file names
from the server are made safe (`naming`), downloads are verified (`fetch`).
"""

from typing import TYPE_CHECKING

from batchrun.export.atomic import atomic_write_bytes, atomic_write_text, remove_stale_temp_files
from batchrun.export.exported import ExportedFile
from batchrun.export.naming import safe_filename
from batchrun.export.results_dir import ResultsDir
from batchrun.lazy import lazy_attributes

if TYPE_CHECKING:
    from batchrun.export.artifacts import download_artifacts
    from batchrun.export.downloads import download_run_files


# The downloaders need the HTTP client: `plan` and `validate`, which read the results layout,
# do not load it.
__getattr__ = lazy_attributes(
    __name__,
    {
        "download_artifacts": "batchrun.export.artifacts",
        "download_run_files": "batchrun.export.downloads",
    },
)

__all__ = [
    "ExportedFile",
    "ResultsDir",
    "atomic_write_bytes",
    "atomic_write_text",
    "download_artifacts",
    "download_run_files",
    "remove_stale_temp_files",
    "safe_filename",
]
