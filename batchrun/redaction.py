"""Keeping secrets out of everything batchrun writes: the ONE redactor.

The state, the logs and console, the results (run.json, timelines) and the client's error
messages all mask through a `Redactor` built from one set of secrets per command: the API
key and every value the spec took from the environment. Two rules:

- `text`: every occurrence of a secret (and of its JSON-escaped form, as it appears inside
  stored JSON) becomes `***`;
- `value` (JSON-like data: run responses, event data): the same for every string and key,
  plus the values of keys known to be sensitive (headers, cookies, TOTP settings), and the
  credentials of URLs (`user:password@`, signed-link queries such as `sig=`).

Secrets shorter than 4 characters are not masked in text: replacing "us" or "10" everywhere
would shred ordinary words and numbers without protecting anything real (such values are
still masked under sensitive keys).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4

# Compared after lower-casing and turning "-" into "_".
SENSITIVE_KEYS = frozenset(
    {
        "x_api_key",
        "api_key",
        "apikey",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "password",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "extra_http_headers",
        "cdp_connect_headers",
        "totp_code",
        "totp_secret",
        "totp_identifier",
        "totp_url",
        "x_skyvern_signature",
    }
)

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]+@")
_SIGNED_QUERY = re.compile(
    r"(?P<key>[?&](?:sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential"
    r"|token|api_key|apikey)=)[^&#\s\"']+",
    re.IGNORECASE,
)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these too (never forgets one already given)."""
        usable = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        if usable <= self._secrets:
            return
        self._secrets |= usable
        forms = set(self._secrets)
        for secret in self._secrets:
            forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])  # as it appears in JSON
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered)))

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def value(self, value: Any) -> Any:
        """A copy of JSON-like data with secrets, sensitive keys and URL credentials masked."""
        pattern = self._pattern
        return _masked(value, pattern.sub if pattern is not None else None)


def _masked(value: Any, sub: Callable[[str, str], str] | None) -> Any:
    # `Redactor.value` for every run response: one function, with the exact types JSON
    # gives tested first (the isinstance checks below keep subclasses and other mappings
    # and sequences masked as before).
    kind = type(value)
    if kind is str or isinstance(value, str):
        return _mask_url_credentials(sub(MASK, value) if sub is not None else value)
    if kind is dict or isinstance(value, Mapping):
        masked = {}
        for key, item in value.items():
            if isinstance(key, str):
                sensitive = _is_sensitive_name(key)
                if sub is not None:
                    key = sub(MASK, key)
            else:
                sensitive = False
            masked[key] = _mask(item) if sensitive else _masked(item, sub)
        return masked
    if kind is list or isinstance(value, list | tuple | set | frozenset):
        return [_masked(item, sub) for item in value]
    return value


def _mask_url_credentials(text: str) -> str:
    # Each pattern needs a character most strings lack ("@", "="): checking for it first
    # spares two regex scans of every string of every run response.
    if "@" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    if "=" in text:
        text = _SIGNED_QUERY.sub(lambda m: f"{m['key']}{MASK}", text)
    return text


@functools.lru_cache(maxsize=4096)
def _is_sensitive_name(key: str) -> bool:
    # Run responses repeat the same few dozen keys: the normalised lookup is cached.
    return key.lower().replace("-", "_") in SENSITIVE_KEYS


def _mask(value: Any) -> Any:
    # Header maps keep their header names, which are useful when debugging a run.
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {key: MASK for key in value}
    return MASK
