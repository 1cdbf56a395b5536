"""The scenario: a YAML (or dict) script of how simulated runs behave and fail.

A scenario has `rules` (the first whose globs all match a run decides its outcome, timing,
output and files) and `faults` (HTTP-level misbehaviour injected at given rates). Everything
is validated up front so that a typo is a `UsageError` naming the key, never a surprise later.

`account_concurrency: N` models a Skyvern Cloud plan's limit: at most N runs are `running` or
`paused` (started, not yet done) at once. Further runs stay `queued` and start first in, first
out as a slot frees (a run ends or is canceled); their `started_at`, and everything after it,
shift by the time they waited, while `queued_at` stays when they were queued. Each run's start
is planned when it is created from the times the N slots next free up; a cancel re-plans the
runs still waiting (see `batchrun.sim.slots`). A workflow run gives its slot back when its
attempt ends, also while a retry is pending. Unset, runs never wait for each other.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from batchrun.errors import UsageError

TERMINAL_STATUSES = ("completed", "failed", "terminated", "timed_out", "canceled")
MATCH_FIELDS = ("title", "url", "prompt", "workflow_id")
# Endpoint names a fault can be limited to (`faults.endpoints`).
ENDPOINTS = (
    "create",
    "get",
    "list",
    "cancel",
    "bulk_cancel",
    "timeline",
    "artifacts",
    "artifact",
    "content",
    "retry_webhook",
    "version",
    "file",
)
_UNSET: Any = object()


@dataclass(frozen=True)
class FileSpec:
    name: str
    size: int = 1024
    corrupt: bool = False  # serve bytes that do not match the advertised checksum


@dataclass(frozen=True)
class Rule:
    match: dict[str, str] = field(default_factory=dict)
    outcomes: tuple[str, ...] = ("completed",)
    duration: float = 0.5  # seconds from created to terminal (before pause/queue extras)
    steps: int = 3
    output: Any = _UNSET  # _UNSET: generated from the request's schema
    failure_reason: str | None = None
    files: tuple[FileSpec, ...] = ()
    pause: float = 0.0  # seconds spent `paused` halfway through the run
    queued: float = 0.0  # extra seconds spent `queued` (an org at its concurrency limit)
    retry_pending: float = 0.0  # workflow runs: seconds shown failed+retry_pending before attempt 2
    error_code: str | None = None
    # Refuse the create request itself with this status and detail, as Skyvern does for an
    # enterprise-gated engine (403), a blocked URL (400) or unusable file ids (422).
    refuse: tuple[int, str] | None = None

    @property
    def has_output(self) -> bool:
        return self.output is not _UNSET

    def matches(self, fields: dict[str, str]) -> bool:
        return all(
            fnmatch.fnmatchcase(fields.get(key, ""), pattern) for key, pattern in self.match.items()
        )

    def as_data(self) -> dict[str, Any]:
        """The rule in its scenario-file shape, which `rule_from_data` reads back."""
        data: dict[str, Any] = {
            "match": dict(self.match),
            "outcomes": list(self.outcomes),
            "duration": self.duration,
            "steps": self.steps,
            "failure_reason": self.failure_reason,
            "files": [
                {"name": spec.name, "size": spec.size, "corrupt": spec.corrupt}
                for spec in self.files
            ],
            "pause": self.pause,
            "queued": self.queued,
            "retry_pending": self.retry_pending,
            "error_code": self.error_code,
        }
        if self.has_output:
            data["output"] = self.output
        if self.refuse is not None:
            data["refuse"] = {"status": self.refuse[0], "detail": self.refuse[1]}
        return data

    def outcome_for(self, creation_index: int) -> str:
        """The terminal status of the n-th (0-based) creation of the same task; the last repeats."""
        return self.outcomes[min(creation_index, len(self.outcomes) - 1)]


@dataclass(frozen=True)
class Faults:
    rate_limit: float = 0.0  # share of requests answered 429
    server_error: float = 0.0  # share answered 500/502/503
    drop: float = 0.0  # share of connections closed without a response
    latency: float = 0.0  # seconds added to every response
    retry_after: float | None = 1.0  # the Retry-After value on 429/503, None = never sent
    retry_after_rate: float = 0.5  # share of 429s that carry Retry-After (real Skyvern: often none)
    drop_after_create: float = 0.5  # share of dropped creates that happen after the run exists
    endpoints: tuple[str, ...] | None = None  # None: every endpoint

    def applies_to(self, endpoint: str) -> bool:
        return self.endpoints is None or endpoint in self.endpoints


DEFAULT_RULE = Rule()


@dataclass(frozen=True)
class Scenario:
    rules: tuple[Rule, ...] = ()
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None  # None: the simulator's own seed
    list_status_lag: float = 0.0  # seconds the runs list's status lags the run's own
    file_urls: str = "signed"  # "signed": second-origin URLs; "file": file:// paths (self-hosted)
    expires_after: float | None = None  # seconds a signed file link stays valid (None: 12 h)
    v1_extracts_with_url: bool = (
        False  # real skyvern-1.0 with a url returns output null (docs/skyvern-api.md §18)
    )
    # Seconds after a task run (not skyvern-2.0) reads final before its screenshot_final
    # artifact is listed: a real server writes it after the status (about 0.3 s locally).
    final_screenshot_lag: float = 0.0
    # Seconds after a run ends before its recording's content can be fetched: until then the
    # content endpoint answers 404 "Artifact content not available", as a real server does
    # while it finalises the video.
    recording_ready_lag: float = 0.0
    webhook_attempts: int = 3
    # At most this many runs started and not done at once (a Skyvern Cloud plan's limit);
    # the rest stay queued, first in first out. None: no limit. See `batchrun.sim.slots`.
    account_concurrency: int | None = None

    def rule_for(self, fields: dict[str, str]) -> Rule:
        for rule in self.rules:
            if rule.matches(fields):
                return rule
        return DEFAULT_RULE

    @classmethod
    def from_yaml(cls, path: str | Path) -> Scenario:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read scenario {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise UsageError(f"scenario {path} is not UTF-8 text: {exc.reason}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"scenario {path} is not valid YAML: {exc}") from exc
        return cls.from_dict(data or {}, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "scenario") -> Scenario:
        reader = _Reader(source)
        mapping = reader.mapping(data, "")
        reader.known_keys(
            mapping,
            "",
            {
                "rules",
                "faults",
                "seed",
                "list_status_lag",
                "file_urls",
                "expires_after",
                "v1_extracts_with_url",
                "final_screenshot_lag",
                "recording_ready_lag",
                "webhook_attempts",
                "account_concurrency",
            },
        )
        rules_data = mapping.get("rules") or []
        if not isinstance(rules_data, list):
            raise reader.error("rules", "must be a list of rules")
        rules = tuple(reader.rule(item, f"rules[{i}]") for i, item in enumerate(rules_data))
        file_urls = mapping.get("file_urls", "signed")
        if file_urls not in ("signed", "file"):
            raise reader.error("file_urls", "must be 'signed' or 'file'")
        expires = mapping.get("expires_after")
        return cls(
            rules=rules,
            faults=reader.faults(mapping.get("faults") or {}, "faults"),
            seed=reader.optional_int(mapping.get("seed"), "seed"),
            list_status_lag=reader.seconds(mapping.get("list_status_lag", 0.0), "list_status_lag"),
            file_urls=file_urls,
            expires_after=None if expires is None else reader.seconds(expires, "expires_after"),
            v1_extracts_with_url=reader.boolean(
                mapping.get("v1_extracts_with_url", False), "v1_extracts_with_url"
            ),
            final_screenshot_lag=reader.seconds(
                mapping.get("final_screenshot_lag", 0.0), "final_screenshot_lag"
            ),
            recording_ready_lag=reader.seconds(
                mapping.get("recording_ready_lag", 0.0), "recording_ready_lag"
            ),
            webhook_attempts=reader.count(mapping.get("webhook_attempts", 3), "webhook_attempts"),
            account_concurrency=reader.optional_positive(
                mapping.get("account_concurrency"), "account_concurrency"
            ),
        )


class _Reader:
    """Turns plain YAML data into the dataclasses above, naming the bad key on error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, problem: str) -> UsageError:
        return UsageError(f"{self.source}: {where}: {problem}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where or "top level", "must be a mapping")
        return value

    def known_keys(self, mapping: dict[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(mapping) - allowed)
        if unknown:
            prefix = f"{where}." if where else ""
            raise self.error(
                f"{prefix}{unknown[0]}",
                f"unknown key (expected one of: {', '.join(sorted(allowed))})",
            )

    def seconds(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.error(where, f"must be a number of seconds >= 0, got {value!r}")
        return float(value)

    def rate(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.error(where, f"must be a share between 0 and 1, got {value!r}")
        return float(value)

    def count(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(where, f"must be a whole number >= 0, got {value!r}")
        return value

    def optional_positive(self, value: Any, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(where, f"must be a whole number >= 1, got {value!r}")
        return value

    def optional_int(self, value: Any, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(where, f"must be an integer, got {value!r}")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(where, f"must be true or false, got {value!r}")
        return value

    def optional_text(self, value: Any, where: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        raise self.error(where, f"must be a string, got {value!r}")

    def rule(self, data: Any, where: str) -> Rule:
        mapping = self.mapping(data, where)
        self.known_keys(
            mapping,
            where,
            {
                "match",
                "outcomes",
                "duration",
                "steps",
                "output",
                "failure_reason",
                "files",
                "pause",
                "queued",
                "retry_pending",
                "error_code",
                "refuse",
            },
        )
        match = self.mapping(mapping.get("match", {}), f"{where}.match")
        self.known_keys(match, f"{where}.match", set(MATCH_FIELDS))
        for key, pattern in match.items():
            if not isinstance(pattern, str):
                raise self.error(f"{where}.match.{key}", "must be a glob string")
        outcomes = mapping.get("outcomes", ["completed"])
        if isinstance(outcomes, str):
            outcomes = [outcomes]
        if not isinstance(outcomes, list) or not outcomes:
            raise self.error(f"{where}.outcomes", "must be a non-empty list of terminal statuses")
        for status in outcomes:
            if status not in TERMINAL_STATUSES:
                raise self.error(
                    f"{where}.outcomes",
                    f"{status!r} is not a terminal status ({', '.join(TERMINAL_STATUSES)})",
                )
        files_data = mapping.get("files") or []
        if not isinstance(files_data, list):
            raise self.error(f"{where}.files", "must be a list of {name, size}")
        return Rule(
            match=dict(match),
            outcomes=tuple(outcomes),
            duration=self.seconds(
                mapping.get("duration", DEFAULT_RULE.duration), f"{where}.duration"
            ),
            steps=self.count(mapping.get("steps", DEFAULT_RULE.steps), f"{where}.steps"),
            output=mapping.get("output", _UNSET),
            failure_reason=self.optional_text(
                mapping.get("failure_reason"), f"{where}.failure_reason"
            ),
            files=tuple(
                self.file(item, f"{where}.files[{i}]") for i, item in enumerate(files_data)
            ),
            pause=self.seconds(mapping.get("pause", 0.0), f"{where}.pause"),
            queued=self.seconds(mapping.get("queued", 0.0), f"{where}.queued"),
            retry_pending=self.seconds(mapping.get("retry_pending", 0.0), f"{where}.retry_pending"),
            error_code=self.optional_text(mapping.get("error_code"), f"{where}.error_code"),
            refuse=self.refusal(mapping.get("refuse"), f"{where}.refuse"),
        )

    def refusal(self, data: Any, where: str) -> tuple[int, str] | None:
        if data is None:
            return None
        mapping = self.mapping(data, where)
        self.known_keys(mapping, where, {"status", "detail"})
        status = mapping.get("status")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise self.error(f"{where}.status", "must be an HTTP error status (400-599)")
        return status, str(mapping.get("detail", "Refused by the scenario"))

    def file(self, data: Any, where: str) -> FileSpec:
        mapping = self.mapping(data, where)
        self.known_keys(mapping, where, {"name", "size", "corrupt"})
        name = mapping.get("name")
        if not isinstance(name, str) or not name:
            raise self.error(f"{where}.name", "must be a non-empty string")
        return FileSpec(
            name=name,
            size=self.count(mapping.get("size", 1024), f"{where}.size"),
            corrupt=self.boolean(mapping.get("corrupt", False), f"{where}.corrupt"),
        )

    def faults(self, data: Any, where: str) -> Faults:
        mapping = self.mapping(data, where)
        self.known_keys(
            mapping,
            where,
            {
                "rate_limit",
                "server_error",
                "drop",
                "latency",
                "retry_after",
                "retry_after_rate",
                "drop_after_create",
                "endpoints",
            },
        )
        endpoints = mapping.get("endpoints")
        if endpoints is not None:
            if isinstance(endpoints, str):
                endpoints = [endpoints]
            if not isinstance(endpoints, list):
                raise self.error(f"{where}.endpoints", "must be a list of endpoint names")
            for name in endpoints:
                if name not in ENDPOINTS:
                    raise self.error(
                        f"{where}.endpoints", f"{name!r} is not one of {', '.join(ENDPOINTS)}"
                    )
            endpoints = tuple(endpoints)
        retry_after = mapping.get("retry_after", 1.0)
        return Faults(
            rate_limit=self.rate(mapping.get("rate_limit", 0.0), f"{where}.rate_limit"),
            server_error=self.rate(mapping.get("server_error", 0.0), f"{where}.server_error"),
            drop=self.rate(mapping.get("drop", 0.0), f"{where}.drop"),
            latency=self.seconds(mapping.get("latency", 0.0), f"{where}.latency"),
            retry_after=None
            if retry_after is None
            else self.seconds(retry_after, f"{where}.retry_after"),
            retry_after_rate=self.rate(
                mapping.get("retry_after_rate", 0.5), f"{where}.retry_after_rate"
            ),
            drop_after_create=self.rate(
                mapping.get("drop_after_create", 0.5), f"{where}.drop_after_create"
            ),
            endpoints=endpoints,
        )


def rule_from_data(data: Any, *, source: str) -> Rule:
    """A rule from its scenario-file shape (what `Rule.as_data` gives), validated."""
    return _Reader(source).rule(data, "rule")


def demo_scenario() -> Scenario:
    """The built-in scenario of `batchrun sim` and `batchrun apply --sim` (the README demo)."""
    text = resources.files("batchrun.sim").joinpath("scenarios/demo.yaml")
    with resources.as_file(text) as path:
        return Scenario.from_yaml(path)
