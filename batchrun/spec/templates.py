"""Task templates: one task entry laid over the defaults and the batch's retry and timeout,
remembering where each merged value was written, ready to be filled once per row."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from batchrun.spec.fields import ALL_REQUEST_FIELDS, MERGED_MAPPING_FIELDS, Kind, fields_for_kind
from batchrun.spec.merge import Origin, layer
from batchrun.spec.value_types import describe
from batchrun.spec.yaml_positions import DataPath

_ENV_REFERENCE = re.compile(r"(?<!\$)\$\{")


class Reporter(Protocol):
    def __call__(self, path: DataPath, message: str, *, at_key: bool = False) -> None: ...


@dataclass(frozen=True, slots=True)
class Template:
    """One task entry laid over the defaults, ready to be filled per row."""

    kind: Kind
    entry_path: DataPath
    values: dict[str, Any]
    origin: Origin
    for_each: Any = None  # the raw `for_each`, None when the entry has none


def build_template(
    index: int,
    entry: Any,
    defaults: dict[str, Any],
    shared: dict[str, Any],
    report: Reporter,
) -> Template | None:
    """Task entry `index` laid over the `defaults` that fit its kind and the `shared`
    top-level retry and timeout; None (after reporting why) when it cannot be expanded."""
    path: DataPath = ("tasks", index)
    if not isinstance(entry, dict):
        report(path, f"expected a task (a mapping), got {describe(entry)}")
        return None
    kind: Kind = "workflow" if "workflow_id" in entry else "task"
    allowed = fields_for_kind(kind)
    own = {
        key: value for key, value in entry.items() if key not in ("retry", "timeout", "for_each")
    }
    for key in list(own):
        if key in ALL_REQUEST_FIELDS and key not in allowed:
            message = (
                f"{key!r} applies only to workflow tasks (tasks with a workflow_id)"
                if kind == "task"
                else f"{key!r} does not apply to a workflow task (this task has a workflow_id)"
            )
            report((*path, key), message, at_key=True)
            del own[key]
    if isinstance(own.get("id"), str) and _ENV_REFERENCE.search(own["id"]):
        report((*path, "id"), "an id cannot use ${VAR}: ids are stored and shown in clear")
        return None
    fitting = {key: value for key, value in defaults.items() if key in allowed}
    values, origin = layer(fitting, ("defaults",), own, path, MERGED_MAPPING_FIELDS)
    top_retry = shared.get("retry")
    if "retry" in entry:
        own_retry = entry["retry"]
        if isinstance(own_retry, dict) and isinstance(top_retry, dict):
            retry, retry_origin = layer(
                top_retry, ("retry",), own_retry, (*path, "retry"), frozenset({"backoff"})
            )
            origin.update({("retry", *key): source for key, source in retry_origin.items()})
            values["retry"] = retry
        else:
            values["retry"] = own_retry
        origin[("retry",)] = (*path, "retry")
    elif isinstance(top_retry, dict):
        values["retry"] = top_retry
        origin[("retry",)] = ("retry",)
    if "timeout" in entry or "timeout" in shared:
        values["timeout"] = entry.get("timeout", shared.get("timeout"))
        origin[("timeout",)] = (*path, "timeout") if "timeout" in entry else ("timeout",)
    for_each = entry.get("for_each")
    if "for_each" in entry and for_each is None:
        report((*path, "for_each"), "for_each is empty: give rows, csv or jsonl")
        return None
    return Template(kind, path, values, origin, for_each)
