"""Schemathesis hooks for the API conformance test (tests/api_schema.rs).

Each request carries one of several API keys of funded accounts: each key has its own request
budget, and the run would otherwise spend most of its time on 429 answers (which the document
allows, but which test nothing else). Idempotency keys that match the document are made unique
before each call: a real client never reuses one for another request, and reuse has tests of
its own (tests/api.rs). Likewise a list cursor of the documented shape is dropped: a real client
only sends the `next_cursor` an answer gave it (tests/api_account.rs walks the cursors), and a
made-up one is refused with 422 `invalid_cursor`, which no schema of an opaque string can say.
"""

import itertools
import os
import re
import threading
import uuid

import schemathesis

_KEYS = itertools.cycle(os.environ["QS_API_KEYS"].split(","))
_LOCK = threading.Lock()
_VALID_IDEMPOTENCY_KEY = re.compile(r"[!-~]([ -~]{0,194}[!-~])?")
_CURSOR_SHAPE = re.compile(r"([0-9a-f]{2}){0,32}")


@schemathesis.auth(refresh_interval=None)
class RotatingApiKeys:
    def get(self, case, context):
        with _LOCK:
            return next(_KEYS)

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_call(context, case, kwargs):
    for name in list(case.headers or {}):
        value = case.headers[name]
        if name.lower() == "idempotency-key" and isinstance(value, str):
            if _VALID_IDEMPOTENCY_KEY.fullmatch(value):
                case.headers[name] = f"st-{uuid.uuid4()}"
    query = case.query or {}
    cursor = query.get("cursor")
    if isinstance(cursor, str) and _CURSOR_SHAPE.fullmatch(cursor):
        del query["cursor"]
