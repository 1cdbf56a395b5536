"""A webhook receiver for `batchrun apply --listen`: Skyvern tells it when a run ends.

Deliveries are verified (HMAC signature with the API key, fresh timestamp, secret path,
size and rate caps) before `on_delivery(run_id, payload, final)` is called; a webhook is a
hint that a run may have ended, never the record, which is still read with GET. Valid
deliveries can be relayed to the webhook_url a task's spec asked for.
"""

from batchrun.receiver.app import (
    DeliveryCallback,
    RelayTarget,
    is_final,
    run_id_of,
    signature_for,
)
from batchrun.receiver.server import (
    WebhookReceiver,
    parse_listen,
    public_origin,
    serve_receiver,
)
from batchrun.receiver.settings import ReceiverSettings, ReceiverStats, TokenBucket

__all__ = [
    "DeliveryCallback",
    "ReceiverSettings",
    "ReceiverStats",
    "RelayTarget",
    "TokenBucket",
    "WebhookReceiver",
    "is_final",
    "parse_listen",
    "public_origin",
    "run_id_of",
    "serve_receiver",
    "signature_for",
]
