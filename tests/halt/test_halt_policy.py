"""The halt policy a run uses: the spec's `halt:` with the command line's overrides."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from batchrun.errors import UsageError
from batchrun.halt import (
    DEFAULT_MIN_ENDED,
    DEFAULT_ON,
    HaltPolicyValue,
    halt_policy_with_overrides,
    parse_rate,
)


@dataclass(frozen=True)
class SpecHalt:
    """Stands in for the spec model's `halt` object: only the attributes matter."""

    max_failures: int | None = None
    max_failure_rate: float | None = None
    min_ended: int = 5
    on: frozenset[str] = frozenset({"failed", "terminated"})
    mode: str = "soon"


SPEC = SpecHalt(max_failure_rate=0.3)

OVERRIDE_CASES = [
    # story, spec's halt, (--halt-on-failures, --halt-on-rate, --halt-mode), expected
    ("no halt anywhere: no policy", None, (None, None, None), None),
    ("a spec halt without any limit could never halt: no policy", SpecHalt(),
     (None, None, None), None),
    ("the spec's policy as written", SPEC, (None, None, None),
     HaltPolicyValue(None, 0.3, 5, frozenset({"failed", "terminated"}), "soon")),
    ("--halt-on-failures adds a count and keeps the spec's rate", SPEC, (10, None, None),
     HaltPolicyValue(10, 0.3, 5, frozenset({"failed", "terminated"}), "soon")),
    ("--halt-on-rate replaces the spec's rate", SPEC, (None, 0.5, None),
     HaltPolicyValue(None, 0.5, 5, frozenset({"failed", "terminated"}), "soon")),
    ("--halt-mode now replaces the spec's mode", SPEC, (None, None, "now"),
     HaltPolicyValue(None, 0.3, 5, frozenset({"failed", "terminated"}), "now")),
    ("a spec without halt: the command line alone, with the defaults", None, (3, None, None),
     HaltPolicyValue(3, None, DEFAULT_MIN_ENDED, DEFAULT_ON, "soon")),
    ("a spec without halt: rate and mode from the command line", None, (None, 0.25, "now"),
     HaltPolicyValue(None, 0.25, DEFAULT_MIN_ENDED, DEFAULT_ON, "now")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("story", "spec_halt", "overrides", "expected"),
    OVERRIDE_CASES,
    ids=[c[0] for c in OVERRIDE_CASES],
)
def test_command_line_overrides(
    story: str,
    spec_halt: SpecHalt | None,
    overrides: tuple[int | None, float | None, str | None],
    expected: HaltPolicyValue | None,
) -> None:
    failures, rate, mode = overrides
    result = halt_policy_with_overrides(
        spec_halt, max_failures=failures, max_failure_rate=rate, mode=mode
    )
    assert result == expected


def test_the_result_is_frozen_and_usable_where_the_spec_policy_is() -> None:
    result = halt_policy_with_overrides(SPEC, max_failures=None, max_failure_rate=None, mode=None)
    assert result is not None
    with pytest.raises(AttributeError):
        result.mode = "now"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec_halt", "overrides", "message"),
    [
        (None, (None, None, "now"), "--halt-mode needs a limit"),
        (SpecHalt(), (None, None, "now"), "--halt-mode needs a limit"),
        (None, (0, None, None), "--halt-on-failures must be at least 1, got 0"),
        (SPEC, (None, 1.5, None), "--halt-on-rate must be above 0 and at most 1, got 1.5"),
        (SPEC, (None, None, "later"), "--halt-mode must be 'soon' or 'now', got 'later'"),
        (
            SpecHalt(max_failures=3, min_ended=0),
            (None, None, None),
            "halt: min_ended must be at least 1, got 0",
        ),
    ],
)
def test_overrides_that_make_no_sense_are_usage_errors(
    spec_halt: SpecHalt | None,
    overrides: tuple[int | None, float | None, str | None],
    message: str,
) -> None:
    failures, rate, mode = overrides
    with pytest.raises(UsageError, match=message):
        halt_policy_with_overrides(
            spec_halt, max_failures=failures, max_failure_rate=rate, mode=mode
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_failure_rate": 0.0}, "max_failure_rate must be above 0"),
        ({"max_failure_rate": 1.5}, "max_failure_rate must be above 0"),
        ({"min_ended": 0}, "min_ended must be at least 1"),
        ({"on": frozenset({"failed", "crashed"})}, "unknown end status"),
        ({"on": frozenset()}, "at least one end status"),
    ],
)
def test_invalid_policies_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HaltPolicyValue(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "rate"),
    [("30%", 0.3), ("0.3", 0.3), (" 12.5 % ", 0.125), ("100%", 1.0), ("1", 1.0), (".05", 0.05)],
)
def test_rates_as_users_write_them(text: str, rate: float) -> None:
    assert parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", ["30", "0", "0%", "150%", "-0.2", "", "abc", "nan", "inf", "3%%"])
def test_rates_that_are_refused_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_rate(text)
    assert str(raised.value) == (
        f"{text!r} is not a failure rate: "
        "write a fraction above 0 and at most 1 (0.3) or a percentage (30%)"
    )
