"""Verifying the webhooks QuickScale sends when a run ends.

Each POST carries ``QuickScale-Signature: t=<unix seconds>,v1=<hex>``: the hex is HMAC-SHA256,
under the secret shown when the webhook was registered, of ``"{t}.{body}"`` (the timestamp, a
full stop and the raw body). ``verify_webhook`` recomputes it over the body exactly as received,
compares in constant time, refuses a timestamp too far from now, and returns the parsed event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Optional, Union

SIGNATURE_HEADER = "QuickScale-Signature"
DEFAULT_TOLERANCE = 300


class WebhookSignatureError(ValueError):
    """The request is not a genuine, recent webhook from the app: do not act on it."""


def verify_webhook(
    body: Union[bytes, str],
    header: Optional[str],
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> Any:
    """Checks ``header`` (the ``QuickScale-Signature`` value) for ``body`` (the raw request
    body, before any JSON parsing) and returns the event it carries.

    Raises ``WebhookSignatureError`` when the header is missing or malformed, its timestamp is
    more than ``tolerance`` seconds from ``now`` (default: the clock), or no ``v1`` signature
    matches.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    timestamp: Optional[int] = None
    signatures = []
    for part in (header or "").split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                timestamp = None
        elif name == "v1":
            try:
                signatures.append(bytes.fromhex(value))
            except ValueError:
                pass
    if timestamp is None or not signatures:
        raise WebhookSignatureError("the QuickScale-Signature header is missing or malformed")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookSignatureError("the signature's timestamp is outside the tolerance")
    expected = hmac.new(
        secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + raw, hashlib.sha256
    ).digest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise WebhookSignatureError("the signature does not match")
    return json.loads(raw)
