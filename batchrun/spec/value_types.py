"""Spec value types with their own parsing and messages: durations, sizes, enum choices,
URLs, proxy locations. Each is an `Annotated` type usable in a pydantic model and carries
the JSON Schema editors use for completion.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, PlainValidator, WithJsonSchema

from batchrun.spec.enums import GEO_COUNTRIES, PROXY_LOCATIONS


def describe(value: Any) -> str:
    """A short, safe rendering of a value the user wrote, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest candidate, or '' when none is close."""
    options = list(candidates)
    by_lower = {option.lower(): option for option in options}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def choice_checker(
    label: str, values: Sequence[str], aliases: Mapping[str, str] | None = None
) -> Callable[[Any], str]:
    """A validator accepting `values` and `aliases` (returned as their canonical value)."""
    alias_map = dict(aliases or {})
    accepted = (*values, *alias_map)

    def check(value: Any) -> str:
        if isinstance(value, str):
            if value in values:
                return value
            if value in alias_map:
                return alias_map[value]
        message = f"{describe(value)} is not a valid {label}"
        hint = did_you_mean(value, accepted) if isinstance(value, str) else ""
        if hint:
            message += hint
        elif len(accepted) <= 12:
            message += f" (expected one of: {', '.join(accepted)})"
        raise ValueError(message)

    return check


def choice(label: str, values: Sequence[str], aliases: Mapping[str, str] | None = None) -> Any:
    """A string from a fixed set (plus aliases normalised to their canonical value)."""
    schema = {"type": "string", "enum": [*values, *(aliases or {})]}
    return Annotated[
        str, PlainValidator(choice_checker(label, values, aliases)), WithJsonSchema(schema)
    ]


_BOOL_HINT = "(YAML 1.2: only true and false are booleans)"


def _strict_bool(value: Any) -> bool:
    # pydantic's lax bool would take yes, off, 0, 1 and "true": a spec says true or false.
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        raise ValueError(
            f"expected true or false, got the string {describe(value)} (remove the quotes)"
        )
    raise ValueError(f"expected true or false, got {describe(value)} {_BOOL_HINT}")


StrictBool = Annotated[bool, PlainValidator(_strict_bool), WithJsonSchema({"type": "boolean"})]


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {describe(value)}")
    return value


# Counts must fit where they end up: SQLite stores 64-bit integers and JSON readers (the
# API's included) are exact only up to 2**53, so no integer field goes past that.
MAX_SAFE_INT = 2**53


def int_in(ge: int, le: int) -> Any:
    """An integer within bounds. pydantic's lax int takes `true` as 1: not here."""
    if le > MAX_SAFE_INT:
        raise ValueError(f"{le} is beyond what JSON and SQLite carry exactly")
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_reject_bool)]


def float_in(ge: float, le: float) -> Any:
    """A finite number within bounds; `true` is not 1.0 and 'nan' is not a number."""
    return Annotated[
        float, Field(ge=ge, le=le, allow_inf_nan=False), BeforeValidator(_reject_bool_number)
    ]


def _reject_bool_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {describe(value)}")
    return value


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|h)?\s*$")
_DURATION_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*(s|m|h)?\s*$"


# Thirty days: longer than any batch is worth waiting on, and far inside a float's range.
MAX_DURATION_SECONDS = 30 * 24 * 3600


def parse_duration(value: Any) -> float:
    """Seconds from `90`, `1.5`, `"90s"`, `"10m"` or `"1h"`, at most 30 days."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(
                f"expected a duration such as 90, '90s', '10m' or '1h', got {describe(value)}"
            )
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"a duration must be zero or more seconds, got {describe(value)}")
    if seconds > MAX_DURATION_SECONDS:  # infinity included: "999...9s" overflows a float
        raise ValueError(f"a duration must be at most 30 days (720h), got {describe(value)}")
    return seconds


def describe_seconds(seconds: float) -> str:
    """`90s`, `1.5s`: a duration for messages."""
    return f"{seconds:g}s"


def _positive_duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"must be longer than zero, got {describe(value)}")
    return seconds


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": MAX_DURATION_SECONDS},
        {"type": "string", "pattern": DURATION_PATTERN},
    ],
    "examples": [90, "90s", "10m", "1h"],
}
Duration = Annotated[float, PlainValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
PositiveDuration = Annotated[
    float, PlainValidator(_positive_duration), WithJsonSchema(_DURATION_SCHEMA)
]

# Sizes: KB/MB/GB/TB are powers of 1000 (as disks and networks count), KiB/MiB/GiB/TiB 1024.
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
SIZE_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*([KkMmGgTt][Ii]?[Bb]|[Bb])?\s*$"


# One petabyte: more than any file a run downloads or a spec reads, and inside 2**53.
MAX_SIZE_BYTES = 10**15


def parse_size(value: Any) -> int:
    """Bytes from `1000`, `"10KB"`, `"5MB"`, `"1GB"`, `"2GiB"`, at most 1 PB."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"a size must be more than zero bytes, got {describe(value)}")
        return _size_in_range(value, value)
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"expected a size such as 1000, '500KB', '5MB' or '1GB', got {describe(value)}"
        )
    # Bounded before int(): "999...9TB" is an infinite float, and int(inf) raises.
    size = float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    if size > MAX_SIZE_BYTES:
        raise ValueError(f"a size must be at most 1 PB (1000TB), got {describe(value)}")
    if int(size) <= 0:
        raise ValueError(f"a size must be more than zero bytes, got {describe(value)}")
    return int(size)


def _size_in_range(size: int, written: Any) -> int:
    if size > MAX_SIZE_BYTES:
        raise ValueError(f"a size must be at most 1 PB (1000TB), got {describe(written)}")
    return size


_SIZE_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_SIZE_BYTES},
        {"type": "string", "pattern": SIZE_PATTERN},
    ],
    "examples": ["500MB", "1GB"],
}
Size = Annotated[int, PlainValidator(parse_size), WithJsonSchema(_SIZE_SCHEMA)]


_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
RATE_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"


def parse_rate(value: Any) -> float:
    """A fraction 0..1 from `0.3` or `"30%"` (0% to 100%)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise ValueError(
                f"a rate is a fraction from 0 to 1 or a percentage such as '30%', "
                f"got {describe(value)}"
            )
        return float(value)
    match = _RATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a rate such as 0.3 or '30%', got {describe(value)}")
    percent = float(match.group(1))
    if percent > 100:
        raise ValueError(f"a percentage is at most 100%, got {describe(value)}")
    return percent / 100


_RATE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1},
        {"type": "string", "pattern": RATE_PATTERN},
    ],
    "examples": ["30%", 0.3],
}
Rate = Annotated[float, PlainValidator(parse_rate), WithJsonSchema(_RATE_SCHEMA)]

# Output paths: `$` then `.name`, `['name']`, `[3]`, `[*]` or `.*` steps (a JSONPath subset).
_OUTPUT_PATH_STEP = r"(?:\.[A-Za-z_][A-Za-z0-9_-]*|\.\*|\[\*\]|\[[0-9]+\]|\['[^'\]]+'\])"
OUTPUT_PATH_PATTERN = rf"^\${_OUTPUT_PATH_STEP}+$"
_OUTPUT_PATH = re.compile(OUTPUT_PATH_PATTERN)


def _check_output_path(value: Any) -> str:
    example = "'$.items[*].seen_at'"
    if not isinstance(value, str):
        raise ValueError(f"expected an output path such as {example}, got {describe(value)}")
    if value.strip() == "$":
        raise ValueError("'$' would ignore the whole output; name a part of it, e.g. '$.a'")
    if not _OUTPUT_PATH.match(value):
        # The commonest slip is leaving out the `$.`: suggest it when that is all it takes.
        fixed = f"$.{value}"
        hint = f"; did you mean {fixed!r}?" if _OUTPUT_PATH.match(fixed) else ""
        raise ValueError(
            f"{describe(value)} is not an output path: '$' then .name, ['name'], [3], [*] "
            f"or .* steps{hint}"
        )
    return value


OutputPath = Annotated[
    str,
    PlainValidator(_check_output_path),
    WithJsonSchema({"type": "string", "pattern": OUTPUT_PATH_PATTERN}),
]


def url_type(label: str, schemes: tuple[str, ...]) -> Any:
    """A URL whose scheme is one of `schemes` and that names a host."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a URL, got {describe(value)}")
        if url_problem(value, schemes) is not None:
            wanted = ", ".join(f"{scheme}://" for scheme in schemes[:-1]) + f" or {schemes[-1]}://"
            raise ValueError(f"{label} must be an {wanted} URL with a host, got {describe(value)}")
        return value

    schema = {"type": "string", "format": "uri"}
    return Annotated[str, PlainValidator(check), WithJsonSchema(schema)]


_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts


def url_problem(value: str, schemes: tuple[str, ...]) -> str | None:
    if _WHITESPACE.search(value):
        return "contains whitespace"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "malformed"
    if parts.scheme.lower() not in schemes:
        return "scheme"
    if not parts.hostname:
        return "no host"
    return None


def url_host(value: str) -> str | None:
    try:
        host = urlsplit(value).hostname
    except ValueError:
        return None
    return host.lower() if host else None


_GEO_KEY_ORDER = ("country", "subdivision", "city", "isISP")
_GEO_KEYS = set(_GEO_KEY_ORDER)


def _check_proxy_location(value: Any) -> str | dict[str, Any]:
    if isinstance(value, str):
        return _proxy_enum_check(value)
    if not isinstance(value, dict):
        raise ValueError(
            "expected a proxy location name (e.g. RESIDENTIAL), a geo target "
            f"{{country, subdivision, city}} or {{url: ...}}, got {describe(value)}"
        )
    if set(value) == {"url"}:
        url = value["url"]
        if not isinstance(url, str) or url_problem(url, ("http", "https", "socks5")) is not None:
            raise ValueError(f"proxy_location.url must be a proxy URL, got {describe(url)}")
        return dict(value)
    return _check_geo_target(value)


def _check_geo_target(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        if key not in _GEO_KEYS:
            hint = did_you_mean(key, _GEO_KEYS) or f" (keys: {', '.join(_GEO_KEY_ORDER)})"
            raise ValueError(f"unknown geo target key {key!r}{hint}")
    country = value.get("country")
    if country not in GEO_COUNTRIES:
        if "country" not in value:
            raise ValueError("a geo target needs a 'country' (e.g. {country: US})")
        hint = did_you_mean(country, GEO_COUNTRIES) if isinstance(country, str) else ""
        raise ValueError(
            f"geo target country {describe(country)} is not served{hint} "
            f"(one of: {', '.join(GEO_COUNTRIES)})"
        )
    for key, limit in (("subdivision", 10), ("city", 100)):
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or len(item) > limit):
            raise ValueError(f"geo target {key} must be text of at most {limit} characters")
    if not isinstance(value.get("isISP", False), bool):
        raise ValueError("geo target isISP must be true or false")
    return dict(value)


_proxy_enum_check = choice_checker("proxy location", PROXY_LOCATIONS)

_PROXY_SCHEMA = {
    "anyOf": [
        {"type": "string", "enum": list(PROXY_LOCATIONS)},
        {
            "type": "object",
            "properties": {
                "country": {"type": "string", "enum": list(GEO_COUNTRIES)},
                "subdivision": {"type": "string", "maxLength": 10},
                "city": {"type": "string", "maxLength": 100},
                "isISP": {"type": "boolean"},
            },
            "required": ["country"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"url": {"type": "string"}},
            "required": ["url"],
            "additionalProperties": False,
        },
    ]
}
ProxyLocation = Annotated[
    str | dict[str, Any], PlainValidator(_check_proxy_location), WithJsonSchema(_PROXY_SCHEMA)
]

SCHEMA_FILE_SUFFIXES = (".json", ".yaml", ".yml")


def _check_schema_ref(value: Any) -> dict[str, Any] | str:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.lower().endswith(SCHEMA_FILE_SUFFIXES):
        return value
    raise ValueError(
        "expected an inline JSON Schema (a mapping) or the path of a .json/.yaml file, "
        f"got {describe(value)}"
    )


_SCHEMA_REF_SCHEMA = {
    "anyOf": [
        {"type": "object", "description": "An inline JSON Schema."},
        {
            "type": "string",
            "pattern": r"\.(json|ya?ml)$",
            "description": "Path, relative to the spec.",
        },
    ]
}
ExtractionSchemaRef = Annotated[
    dict[str, Any] | str, PlainValidator(_check_schema_ref), WithJsonSchema(_SCHEMA_REF_SCHEMA)
]


def pattern_type(
    pattern: str, explanation: str, *, max_length: int = 256, forbidden: tuple[str, ...] = ()
) -> Any:
    """Text matching `pattern`; a mismatch explains the rule in words."""
    compiled = re.compile(pattern)

    def check(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {describe(value)}")
        if not compiled.match(value) or value in forbidden or len(value) > max_length:
            raise ValueError(f"{describe(value)}: {explanation}, at most {max_length} characters")
        return value

    schema = {"type": "string", "pattern": pattern, "maxLength": max_length}
    return Annotated[str, PlainValidator(check), WithJsonSchema(schema)]
