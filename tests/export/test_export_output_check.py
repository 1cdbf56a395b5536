"""Output verdicts: empty, invalid, valid or unchecked, with a concise reason."""

from __future__ import annotations

from typing import Any

import pytest

from batchrun.output_check import OutputVerdict, check_output

PRICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "price": {"type": "number"},
        "currency": {"type": "string"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
        },
        "updated": {"type": "string", "format": "date"},
    },
    "required": ["price", "currency"],
}


@pytest.mark.parametrize(
    "output",
    [None, {}, [], "  ", {"price": None, "currency": None}, {"price": None, "items": []}],
)
def test_missing_or_all_null_outputs_are_empty(output: Any) -> None:
    check = check_output(output, PRICE_SCHEMA)
    assert check.verdict is OutputVerdict.EMPTY
    assert check.error


def test_error_code_from_the_mapping_counts_as_empty() -> None:
    mapping = {"OUT_OF_STOCK": "the product page says out of stock"}
    check = check_output({"error": "OUT_OF_STOCK"}, PRICE_SCHEMA, error_code_mapping=mapping)
    assert check.verdict is OutputVerdict.EMPTY
    assert "OUT_OF_STOCK" in (check.error or "")
    other = check_output({"error": "SOMETHING_ELSE"}, None, error_code_mapping=mapping)
    assert other.verdict is OutputVerdict.UNCHECKED


def test_schema_failures_name_the_path() -> None:
    check = check_output({"price": "12", "currency": "EUR"}, PRICE_SCHEMA)
    assert check.verdict is OutputVerdict.INVALID
    assert check.error == "$.price: '12' is not of type 'number'"
    nested = check_output({"price": 1, "currency": "EUR", "items": [{"sku": 7}]}, PRICE_SCHEMA)
    assert nested.error == "$.items[0].sku: 7 is not of type 'string'"
    missing = check_output({"price": 1}, PRICE_SCHEMA)
    assert missing.error == "$: 'currency' is a required property"


def test_formats_are_checked() -> None:
    check = check_output({"price": 1, "currency": "EUR", "updated": "yesterday"}, PRICE_SCHEMA)
    assert check.verdict is OutputVerdict.INVALID
    assert "updated" in (check.error or "")


def test_huge_bad_values_give_a_short_message() -> None:
    check = check_output({"price": "9" * 10_000, "currency": "EUR"}, PRICE_SCHEMA)
    assert check.error is not None
    assert len(check.error) < 200 and check.error.endswith("is not of type 'number'")


def test_valid_and_unchecked() -> None:
    valid = check_output({"price": 3.5, "currency": "EUR"}, PRICE_SCHEMA)
    assert valid.verdict is OutputVerdict.VALID and valid.error is None
    assert check_output({"anything": 1}, None).verdict is OutputVerdict.UNCHECKED
    # The API also allows a free-text extraction schema, which cannot be checked.
    assert check_output({"anything": 1}, "the price").verdict is OutputVerdict.UNCHECKED  # type: ignore[arg-type]


def test_broken_schema_is_reported_not_blamed_on_the_run() -> None:
    check = check_output({"price": 1}, {"type": "no-such-type"})
    assert check.verdict is OutputVerdict.UNCHECKED
    assert "not a valid JSON Schema" in (check.error or "")
