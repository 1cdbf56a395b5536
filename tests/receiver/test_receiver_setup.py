"""Starting and stopping the receiver, its URL, and its limits' arithmetic."""

from __future__ import annotations

import socket

import anyio
import httpx
import pytest
from receiver_helpers import API_KEY, Recorder, compact, signed_headers, task_payload

from batchrun.errors import UsageError
from batchrun.receiver import (
    ReceiverSettings,
    TokenBucket,
    WebhookReceiver,
    parse_listen,
    public_origin,
    serve_receiver,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:1", ("localhost", 1)),
        (":8080", ("127.0.0.1", 8080)),
        ("8080", ("127.0.0.1", 8080)),
    ],
)
def test_listen_addresses_parse(value, expected):
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["host:", "host:http", "host:70000", "::1:80", ""])
def test_bad_listen_addresses_are_usage_errors(value):
    with pytest.raises(UsageError, match="--listen"):
        parse_listen(value)


def test_a_public_url_gives_only_its_origin():
    assert public_origin("https://hooks.example.com") == "https://hooks.example.com"
    assert public_origin("https://hooks.example.com/") == "https://hooks.example.com"
    assert public_origin("http://10.0.0.5:8443") == "http://10.0.0.5:8443"


@pytest.mark.parametrize(
    "value", ["hooks.example.com", "ftp://x.org", "https://x.org/prefix", "https://x.org/?a=1"]
)
def test_a_public_url_with_more_than_an_origin_is_refused(value):
    with pytest.raises(UsageError, match="--public-url"):
        public_origin(value)


def test_settings_out_of_range_are_refused():
    with pytest.raises(ValueError, match="rate"):
        ReceiverSettings(rate=0)
    with pytest.raises(ValueError, match="relay_backoff"):
        ReceiverSettings(relay_backoff=(1.0, -1.0))
    assert ReceiverSettings().relay_wait(1) == 1.0
    assert ReceiverSettings().relay_wait(9) == 4.0  # the last step repeats


def test_the_token_bucket_refills_at_its_rate_up_to_its_burst():
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)  # one token per 0.5 s
    now[0] = 0.5
    assert bucket.take() == 0.0 and bucket.take() > 0
    now[0] = 100.0  # a long quiet spell refills only up to the burst
    assert [bucket.take() for _ in range(4)][-1] > 0


async def test_a_public_url_replaces_the_origin_and_keeps_the_secret_path():
    async with serve_receiver(
        api_key=API_KEY, on_delivery=Recorder(), public_url="https://abc.tunnel.example"
    ) as receiver:
        assert receiver.url == "https://abc.tunnel.example" + receiver.path
        assert receiver.bound_url.startswith("http://127.0.0.1:")
        assert receiver.bound_url.endswith(receiver.path)


async def test_it_serves_under_a_callers_task_group_and_stop_frees_the_port():
    recorder = Recorder()
    receiver = WebhookReceiver(api_key=API_KEY, on_delivery=recorder)
    with pytest.raises(RuntimeError):
        receiver.url  # noqa: B018 - not serving yet
    body = compact(task_payload())
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        async with httpx.AsyncClient() as client:
            response = await client.post(receiver.url, content=body, headers=signed_headers(body))
        receiver.stop()
    assert response.status_code == 200 and recorder.summary == [("tsk_1", True)]
    url = httpx.URL(receiver.url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((url.host, url.port), timeout=5).close()


async def test_cancelling_the_callers_scope_stops_it_at_once():
    receiver = WebhookReceiver(api_key=API_KEY, on_delivery=Recorder())
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        tg.cancel_scope.cancel()
    url = httpx.URL(receiver.url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((url.host, url.port), timeout=5).close()


async def test_a_port_in_use_is_a_usage_error():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            async with serve_receiver("127.0.0.1", port, api_key=API_KEY, on_delivery=Recorder()):
                pass


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
async def test_an_ipv6_loopback_listener_gets_a_bracketed_url():
    recorder = Recorder()
    body = compact(task_payload())
    async with serve_receiver("::1", 0, api_key=API_KEY, on_delivery=recorder) as receiver:
        assert receiver.url.startswith("http://[::1]:")
        async with httpx.AsyncClient() as client:
            response = await client.post(receiver.url, content=body, headers=signed_headers(body))
    assert response.status_code == 200 and recorder.summary == [("tsk_1", True)]


def test_the_api_key_is_required():
    with pytest.raises(ValueError, match="API key"):
        WebhookReceiver(api_key="", on_delivery=Recorder())
