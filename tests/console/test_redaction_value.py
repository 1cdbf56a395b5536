"""`Redactor.value` masks JSON-like data exactly as its first, plain definition did."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from batchrun.redaction import MASK, SENSITIVE_KEYS, Redactor, _mask, _mask_url_credentials

SECRETS = ["hunter22", "tok-ABCD"]


def _reference(redactor: Redactor, value: Any) -> Any:
    # The definition before the hot path was tuned: the rules, spelled out.
    if isinstance(value, str):
        return _mask_url_credentials(redactor.text(value))
    if isinstance(value, Mapping):
        return {
            redactor.text(key) if isinstance(key, str) else key: (
                _mask(item)
                if isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS
                else _reference(redactor, item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_reference(redactor, item) for item in value]
    return value


words = st.sampled_from(
    [*SECRETS, "Password", "x-api-key", "Cookie", "url", "https://u:pw@h/p?sig=abc&x=1", "a=b"]
)
text = st.lists(words | st.text(max_size=8), max_size=3).map("".join)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(text | st.integers(), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=values, with_secrets=st.booleans())
def test_masking_is_what_the_rules_say(value: Any, with_secrets: bool) -> None:
    redactor = Redactor(SECRETS if with_secrets else [])
    assert redactor.value(value) == _reference(redactor, value)


def test_secrets_keys_and_url_credentials_are_masked() -> None:
    redactor = Redactor(SECRETS)
    masked = redactor.value(
        {"Password": {"a": 1}, "note": "use hunter22", "link": "https://u:pw@h/x?sig=s"}
    )
    assert masked == {
        "Password": {"a": MASK},
        "note": f"use {MASK}",
        "link": f"https://u:{MASK}@h/x?sig={MASK}",
    }
