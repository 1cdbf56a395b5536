"""Is a run's output what the task asked for?

Skyvern can report `completed` with no extraction at all, with every field null, or with an
`error` code from the task's `error_code_mapping` in place of data. Paying for a run and
keeping such an output as a success would be silently wrong, so every output gets a verdict:
EMPTY for those cases, INVALID when it fails the task's `data_extraction_schema` (checked
with a real JSON Schema validator), VALID when it passes, UNCHECKED when there is nothing to
check against. The scheduler decides what a verdict costs (retry or flag).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

_ERROR_KEYS = ("error", "error_code")
_MAX_MESSAGE_CHARS = 300
_MAX_VALUE_CHARS = 60


class OutputVerdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    EMPTY = "empty"
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class OutputCheck:
    verdict: OutputVerdict
    error: str | None


def check_output(
    output: Any,
    schema: dict[str, Any] | None,
    *,
    error_code_mapping: Mapping[str, str] | None = None,
) -> OutputCheck:
    """The verdict on one run's output, with a short reason for anything but VALID."""
    emptiness = _why_empty(output, error_code_mapping)
    if emptiness is not None:
        return OutputCheck(OutputVerdict.EMPTY, emptiness)
    # The API also accepts a free-text (or list) extraction schema; only a JSON Schema
    # object can be checked mechanically.
    if not isinstance(schema, dict):
        return OutputCheck(OutputVerdict.UNCHECKED, None)
    # Imported for batches that have a schema to check: jsonschema weighs 8 MB.
    import jsonschema
    from jsonschema.exceptions import SchemaError

    try:
        validator = _validator_for(_schema_key(schema))
    except SchemaError as exc:
        # A broken schema is the spec's fault, not the run's: keep the output, say why it
        # was not checked, and never make the user pay for a retry over it.
        return OutputCheck(
            OutputVerdict.UNCHECKED,
            _shorten(f"data_extraction_schema is not a valid JSON Schema: {exc.message}"),
        )
    errors = list(validator.iter_errors(output))
    best = jsonschema.exceptions.best_match(errors)
    if best is None:
        return OutputCheck(OutputVerdict.VALID, None)
    message = _shorten(f"{_json_path(best)}: {_brief_message(best)}")
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return OutputCheck(OutputVerdict.INVALID, message)


def _why_empty(output: Any, error_code_mapping: Mapping[str, str] | None) -> str | None:
    if output is None:
        return "no output"
    if isinstance(output, Mapping) and error_code_mapping:
        for key in _ERROR_KEYS:
            code = output.get(key)
            if isinstance(code, str) and code in error_code_mapping:
                return _shorten(f"error code {code!r}: {error_code_mapping[code]}")
    if isinstance(output, str) and not output.strip():
        return "output is a blank string"
    if isinstance(output, Mapping | list) and all(leaf is None for leaf in _leaves(output)):
        # Covers {}, [] and {"price": null, "items": []}: nothing was extracted.
        return "output has no non-null values"
    return None


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _schema_key(schema: dict[str, Any]) -> str:
    # Schemas are unhashable dicts; their canonical JSON text is a cache key under which
    # equal schemas of different tasks share one compiled validator.
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)


@lru_cache(maxsize=256)
def _validator_for(key: str) -> Validator:
    import jsonschema

    schema = json.loads(key)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    # The format checker of the validator class only checks formats whose checkers need no
    # extra dependency (date, email, ipv4, ...): cheap, and catches obvious junk.
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _brief_message(error: ValidationError) -> str:
    # jsonschema messages embed the offending value, which can be a whole page of text;
    # abbreviate the value and keep what is wrong with it.
    shown = repr(error.instance)
    if len(shown) <= _MAX_VALUE_CHARS or shown not in error.message:
        return error.message
    return error.message.replace(shown, shown[: _MAX_VALUE_CHARS - 1] + "…")


def _shorten(text: str) -> str:
    if len(text) <= _MAX_MESSAGE_CHARS:
        return text
    return text[: _MAX_MESSAGE_CHARS - 1] + "…"
