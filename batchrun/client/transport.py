"""One HTTP exchange with Skyvern (or a file host), and the retry loop around idempotent ones.

The API key is added per request and only when the request's origin is the API's origin;
redirects are followed here, hop by hop, so a redirect to another host never carries it
(httpx would copy per-request headers onto a cross-origin redirect).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import httpx

from batchrun.client.errors import (
    AuthError,
    LinkExpiredError,
    RateLimitedError,
    ServerBusyError,
    ServerError,
    SkyvernError,
    TransportError,
    error_for_exception,
    error_for_response,
)
from batchrun.client.http11 import Http11Transport
from batchrun.redaction import Redactor

log = logging.getLogger("batchrun.client")

T = TypeVar("T")
ThrottleCallback = Callable[[float | None], None]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0)
MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_CACHE_SIZE = 1024  # paths; cleared when full (a batch polls at most ~1,000 runs at once)
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*")


# Every idle connection is kept (none closed only to be reopened a moment later: httpx's
# default keeps 20 of 100, and a batch polling at concurrency 50 then spends its time on
# handshakes). Requests beyond 32 at once wait for a free connection, which a batch's
# spread-out polls rarely do. The same limits apply to httpx's proxy transports.
MAX_CONNECTIONS = 32
POOL_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
)


@dataclass(frozen=True, slots=True)
class HttpRetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time.

    `Retry-After` is honoured but capped at `max_delay`, so a misbehaving proxy cannot
    park the batch for an hour; tests use tiny values to stay fast.
    """

    attempts: int = 6  # total tries, the first included
    initial: float = 0.5  # seconds; the first retry waits up to this
    factor: float = 2.0
    max_delay: float = 30.0
    max_total: float = 120.0  # seconds from the first try; no retry would end later

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        """Seconds to wait before retry `retry_number` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        ceiling = min(self.max_delay, self.initial * self.factor ** (retry_number - 1))
        return random.uniform(0.0, ceiling)


def retryable_when_idempotent(error: SkyvernError) -> bool:
    """GETs and cancels: repeating them is harmless, so every transient failure qualifies."""
    return isinstance(error, RateLimitedError | ServerBusyError | ServerError | TransportError)


def retryable_when_visible(error: SkyvernError) -> bool:
    """Calls whose repetition is harmless but visible (a re-delivered webhook): retry only
    when the server surely did nothing."""
    if isinstance(error, TransportError):
        return not error.request_sent
    return isinstance(error, RateLimitedError | ServerBusyError)


async def with_retries(
    policy: HttpRetryPolicy,
    operation: Callable[[], Awaitable[T]],
    retryable: Callable[[SkyvernError], bool],
    *,
    what: str,
) -> T:
    started = time.monotonic()
    retry_number = 0
    while True:
        try:
            return await operation()
        except SkyvernError as error:
            retry_number += 1
            if not retryable(error) or retry_number >= policy.attempts:
                raise
            delay = policy.delay(retry_number, getattr(error, "retry_after", None))
            if time.monotonic() - started + delay > policy.max_total:
                raise
            log.debug("%s failed (%s); retry %d in %.2fs", what, error, retry_number, delay)
            await anyio.sleep(delay)


def origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


class SetCookieOnly(httpx.Cookies):
    """httpx's cookie jar, read only from responses that set a cookie.

    httpx hands every response to the jar, which first wraps the request in a
    `urllib.request.Request` (parsing its URL again): 0.1 ms per response, for answers
    that almost never carry a cookie. Without a Set-Cookie header the jar takes nothing
    anyway, so skipping it changes nothing.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class ApiTransport:
    """The shared connection pool, the API origin and its key; single exchanges only."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout,
        retry: HttpRetryPolicy,
        user_agent: str,
        on_throttle: ThrottleCallback | None,
    ) -> None:
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self._base_text = str(self.base_url)
        self._urls: dict[str, httpx.URL] = {}
        self.origin = origin_of(self.base_url)
        self.timeout = timeout
        self.retry = retry
        self._api_key = api_key
        self._redactor = Redactor([api_key])
        self._on_throttle = on_throttle
        # No key in the client's default headers: it is added per request, per origin.
        self._http = httpx.AsyncClient(
            headers={"User-Agent": user_agent},
            follow_redirects=False,
            timeout=timeout,
            limits=POOL_LIMITS,
        )
        # Direct requests go over our own HTTP/1.1 transport; the proxy transports httpx
        # built from the environment (its mounts) are left as they are.
        self._http._transport = Http11Transport(
            max_connections=MAX_CONNECTIONS, ssl_context=httpx.create_ssl_context()
        )
        self._http._cookies = SetCookieOnly(self._http.cookies.jar)

    def api_url(self, path: str) -> httpx.URL:
        # httpx parses and validates every URL it is given (about 60 us): the few paths a
        # batch repeats (the create endpoint, the runs being polled) are parsed once.
        # URLs are immutable, so one is safely shared.
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[path] = self._api_url(path)
        return url

    def _api_url(self, path: str) -> httpx.URL:
        relative = path.lstrip("/")
        if _PLAIN_PATH.fullmatch(relative):
            # No dot segments, query or escapes: joining is appending, and httpx's RFC 3986
            # join costs about 0.2 ms, once per request.
            return httpx.URL(self._base_text + relative)
        return self.base_url.join(relative)

    def is_api_origin(self, url: httpx.URL) -> bool:
        return origin_of(url) == self.origin

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: list[tuple[str, Any]] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One exchange; a successful (2xx) response or a `SkyvernError`.

        GET redirects are followed with the key re-decided for every hop. With
        `stream=True` the caller must close the returned response.
        """
        for _ in range(MAX_REDIRECTS + 1):
            request = self._http.build_request(
                method,
                url,
                params=params,
                json=json,
                headers=self._headers_for(url, headers),
                timeout=timeout or self.timeout,
            )
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                raise self._scrubbed(error_for_exception(exc)) from None
            if response.is_success:
                return response
            if method == "GET" and response.is_redirect and "location" in response.headers:
                url = response.url.join(response.headers["location"])
                params = None  # the Location carries its own query
                await response.aclose()
                continue
            raise await self._failure(response, stream=stream)
        raise SkyvernError(f"more than {MAX_REDIRECTS} redirects starting from {url}")

    async def request(
        self,
        method: str,
        path: str,
        *,
        parse: Callable[[httpx.Response], T],
        retryable: Callable[[SkyvernError], bool],
        params: list[tuple[str, Any]] | None = None,
        json: Any = None,
        timeout: httpx.Timeout | None = None,
        retry: HttpRetryPolicy | None = None,
    ) -> T:
        """An API call with retries; parsing is inside the retried part, so a truncated
        body is retried like any other transient failure."""

        async def attempt() -> T:
            response = await self.send(
                method, self.api_url(path), params=params, json=json, timeout=timeout
            )
            try:
                return parse(response)
            except ValueError as exc:  # JSON or validation errors
                raise ServerError(
                    f"unreadable response from {method} {path}: {exc}",
                    status_code=response.status_code,
                ) from None

        return await with_retries(retry or self.retry, attempt, retryable, what=f"{method} {path}")

    def _headers_for(self, url: httpx.URL, extra: Mapping[str, str] | None) -> dict[str, str]:
        if not self.is_api_origin(url):
            return {}  # a file host gets nothing of ours, not even caller headers
        headers = dict(extra or {})
        headers["x-api-key"] = self._api_key
        return headers

    async def _failure(self, response: httpx.Response, *, stream: bool) -> SkyvernError:
        try:
            if stream:
                await response.aread()
        except httpx.HTTPError:
            pass  # the status alone still says enough
        finally:
            await response.aclose()
        error = self._scrubbed(error_for_response(response))
        if isinstance(error, AuthError) and self._is_refused_link(response, error):
            error = LinkExpiredError(error.detail, status_code=error.status_code)
        if isinstance(error, RateLimitedError | ServerBusyError) and self._on_throttle:
            self._on_throttle(error.retry_after)
        return error

    def _is_refused_link(self, response: httpx.Response, error: AuthError) -> bool:
        # Our key is never sent to a file host, so its 401/403 means a stale signed link;
        # the API's own content endpoint says the same of a bad or expired signature.
        if not self.is_api_origin(response.url):
            return True
        return "expired artifact url" in error.detail.lower()

    def _scrubbed(self, error: SkyvernError) -> SkyvernError:
        # A proxy or a misbehaving server could echo the key back; it must not reach a log.
        masked = self._redactor.text(error.detail)
        if masked != error.detail:
            error.detail = masked
            error.args = (masked,)
        return error
