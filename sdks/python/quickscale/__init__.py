"""QuickScale's Python SDK.

`quickscale_api` is generated from the API's OpenAPI document (scripts/sdks.sh) and typed
throughout; this package is the small layer on top that a program using the API needs:

- `QuickScale()` reads the base URL and the key from the environment
  (`QUICKSCALE_BASE_URL`, default http://127.0.0.1:8000, and `QUICKSCALE_API_KEY`);
- `run()` makes an idempotency key for each run unless given one, and resends it when it
  retries, so a retried run is charged once;
- a `429` is retried after its `Retry-After` (and a run still in progress under its key
  after a moment), up to `max_retries` times;
- refusals raise `ApiError`, with the problem document's `status`, `code` and `detail`;
- `wait_for_run()` waits for a run to finish; `pages()` follows `next_cursor` through a list;
- `verify_webhook()` checks the signature of a webhook the app sent (`run.succeeded`,
  `run.failed`) and returns its event.
"""

from .client import ApiError, QuickScale
from .webhooks import WebhookSignatureError, verify_webhook

__all__ = ["ApiError", "QuickScale", "WebhookSignatureError", "verify_webhook"]
