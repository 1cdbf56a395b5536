"""Removing secrets from anything batchrun writes down (run.json, the state, logs).

Run responses echo the request, so they carry whatever the spec sent: headers for the
target site, CDP handshake headers, TOTP settings, proxy credentials. Two rules apply: the
values of keys known to be sensitive are masked, and every occurrence of a known secret
string (the API key, values taken from the environment) is replaced wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

MASK = "***"

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
# Replacing a very short "secret" everywhere would shred ordinary text without protecting
# anything real; such values are still masked under sensitive keys.
MIN_SECRET_LENGTH = 4

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]+@")
_SIGNED_QUERY = re.compile(
    r"(?P<key>[?&](?:sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential"
    r"|token|api_key|apikey)=)[^&#\s\"']+",
    re.IGNORECASE,
)


def scrub_secrets(value: Any, secrets: Collection[str]) -> Any:
    """A deep copy of `value` (JSON-like data) with secrets masked as `***`."""
    # Longest first, so a secret that contains another is masked whole.
    ordered = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    return _scrub(value, ordered)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, Mapping):
        return {
            _scrub_text(key, secrets) if isinstance(key, str) else key: (
                _mask(item) if _is_sensitive(key) else _scrub(item, secrets)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, secrets) for item in value]
    return value


def _scrub_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _SIGNED_QUERY.sub(lambda m: f"{m['key']}{MASK}", text)


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


def _mask(value: Any) -> Any:
    # Header maps keep their header names, which are useful when debugging a run.
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {key: MASK for key in value}
    return MASK
