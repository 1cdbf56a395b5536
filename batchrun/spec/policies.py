"""The batch-wide settings as the rest of batchrun sees them: from validated models to the
frozen dataclasses of `batch`."""

from __future__ import annotations

from typing import Literal, cast

from batchrun.spec.batch import ExportSettings, HaltPolicy, PollPolicy
from batchrun.spec.models import ExportSettingsModel, HaltSettings, PollSettings


def export_settings(model: ExportSettingsModel) -> ExportSettings:
    return ExportSettings(
        screenshots=model.screenshots,
        recording=model.recording,
        artifacts=tuple(model.artifacts),
        max_file_size=model.max_file_size,
    )


def poll_policy(model: PollSettings) -> PollPolicy:
    return PollPolicy(model.interval, model.max_interval)


def halt_policy(model: HaltSettings | None) -> HaltPolicy | None:
    if model is None:
        return None
    return HaltPolicy(
        max_failures=model.max_failures,
        max_failure_rate=model.max_failure_rate,
        min_ended=model.min_ended,
        on=frozenset(model.on),
        mode=cast(Literal["soon", "now"], model.mode),
    )
