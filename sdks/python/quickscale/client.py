"""The hand-written layer over the generated client (see the package's docstring)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from uuid import UUID

import httpx

from quickscale_api import AuthenticatedClient
from quickscale_api.api.account import balance, ledger, me, usage
from quickscale_api.api.billing import checkout, packs, payments
from quickscale_api.api.runs import cancel_run, one_run, runs
from quickscale_api.api.services import service, services
from quickscale_api.models import (
    BalanceView,
    CheckoutBody,
    EntryList,
    Me,
    PackView,
    PaymentList,
    RunList,
    RunsStatus,
    RunView,
    ServiceView,
    UsageList,
    UsageStatus,
)
from quickscale_api.types import UNSET

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """A refusal: the problem document's `status`, `code` and `detail` (and the whole
    document as `problem`: a 402 has `required` and `available`)."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: int | None):
        self.status = status
        self.problem = problem
        self.code: str | None = problem.get("code")
        self.detail: str = problem.get("detail", "")
        self.retry_after = retry_after
        super().__init__(f"{status} {self.code}: {self.detail}")


@dataclass
class RunResult:
    """A run, whether it was replayed (its idempotency key was used before: nothing ran or was
    charged again), and the key it was sent with."""

    run: RunView
    replayed: bool
    idempotency_key: str


def _retry_after(response: Any) -> int | None:
    try:
        return max(0, int(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"detail": response.content.decode("utf-8", "replace")}


class QuickScale:
    """A client of the API. `base_url` and `api_key` default to `QUICKSCALE_BASE_URL` and
    `QUICKSCALE_API_KEY`. A 429 or 503 (nothing was done) and a run still in progress under
    its key are sent again, up to `max_retries` times, after the wait the answer asks for (at
    most `max_wait` seconds); `on_retry(status, seconds)` is told of each."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        max_retries: int = 3,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        on_retry: Callable[[int, float], None] | None = None,
    ):
        self.base_url = (base_url or os.environ.get("QUICKSCALE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        api_key = api_key or os.environ.get("QUICKSCALE_API_KEY")
        if not api_key:
            raise ValueError("No API key: pass api_key or set QUICKSCALE_API_KEY (make one in Settings, API keys)")
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.on_retry = on_retry
        #: The generated client, for anything this layer does not wrap.
        self.api = AuthenticatedClient(
            base_url=self.base_url,
            token=api_key,
            timeout=httpx.Timeout(timeout),
            raise_on_unexpected_status=False,
        )

    # How long to wait before sending again, or None to give the answer back.
    def _wait_before(self, response: Any, attempt: int) -> float | None:
        if attempt >= self.max_retries:
            return None
        status = int(response.status_code)
        if status in (429, 503):
            wait = _retry_after(response)
            return min(float(1 if wait is None else wait), self.max_wait)
        if status == 409 and _problem(response).get("code") == "in_progress":
            return 0.5
        return None

    def _send(self, call: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            response = call()
            if int(response.status_code) < 400:
                return response
            wait = self._wait_before(response, attempt)
            if wait is None:
                raise ApiError(int(response.status_code), _problem(response), _retry_after(response))
            attempt += 1
            if self.on_retry:
                self.on_retry(int(response.status_code), wait)
            time.sleep(wait)

    def _parsed(self, module: Any, **kwargs: Any) -> Any:
        return self._send(lambda: module.sync_detailed(client=self.api, **kwargs)).parsed

    def me(self) -> Me:
        return self._parsed(me)

    def balance(self) -> BalanceView:
        return self._parsed(balance)

    def services(self) -> list[ServiceView]:
        return self._parsed(services).data

    def service(self, slug: str) -> ServiceView:
        return self._parsed(service, slug=slug)

    def get_run(self, run_id: UUID | str) -> RunView:
        return self._parsed(one_run, id=UUID(str(run_id)))

    def cancel_run(self, run_id: UUID | str) -> RunView:
        """Cancels a background run while it is queued or running (its held credits are
        released); returns the run as it is now."""
        return self._parsed(cancel_run, id=UUID(str(run_id)))

    def runs(
        self,
        *,
        service: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> RunList:
        return self._parsed(
            runs,
            service=service or UNSET,
            status=RunsStatus(status) if status else UNSET,
            cursor=cursor or UNSET,
            limit=limit,
        )

    def ledger(self, *, cursor: str | None = None, limit: int = 20) -> EntryList:
        return self._parsed(ledger, cursor=cursor or UNSET, limit=limit)

    def usage(
        self,
        *,
        service: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> UsageList:
        return self._parsed(
            usage,
            service=service or UNSET,
            status=UsageStatus(status) if status else UNSET,
            cursor=cursor or UNSET,
            limit=limit,
        )

    def usage_csv(self, *, service: str | None = None, status: str | None = None) -> str:
        """The usage history as the usage page's CSV (up to 10000 rows)."""
        params = {k: v for k, v in {"service": service, "status": status}.items() if v}
        http = self.api.get_httpx_client()
        return self._send(lambda: http.get("/api/v1/usage", params=params, headers={"Accept": "text/csv"})).text

    def packs(self) -> list[PackView]:
        return self._parsed(packs).data

    def checkout(self, pack: UUID | str, *, idempotency_key: str | None = None) -> str:
        """The URL of the processor's checkout page for `pack`; credits arrive when the
        processor confirms the payment."""
        key = idempotency_key or f"sdk-{uuid.uuid4()}"
        http = self.api.get_httpx_client()
        body = CheckoutBody(pack=UUID(str(pack))).to_dict()
        response = self._send(lambda: http.post("/api/v1/checkout", json=body, headers={"Idempotency-Key": key}))
        return response.json()["url"]

    def payments(self, *, cursor: str | None = None, limit: int = 20) -> PaymentList:
        return self._parsed(payments, cursor=cursor or UNSET, limit=limit)

    def run(
        self,
        slug: str,
        input: Any = None,
        *,
        file: bytes | None = None,
        content_type: str = "application/octet-stream",
        filename: str | None = None,
        idempotency_key: str | None = None,
    ) -> RunResult:
        """Runs a service: `input` for text and JSON services, `file` (with its
        `content_type`) for file services. Without `idempotency_key` one is made; retries
        resend it, so the run is charged once however often it is sent."""
        key = idempotency_key or f"sdk-{uuid.uuid4()}"
        http = self.api.get_httpx_client()
        path = f"/api/v1/services/{slug}/runs"
        headers = {"Idempotency-Key": key}
        if file is not None:
            params = {"filename": filename} if filename else {}
            send = lambda: http.post(  # noqa: E731
                path, content=file, params=params, headers={**headers, "Content-Type": content_type}
            )
        else:
            send = lambda: http.post(path, json={"input": input}, headers=headers)  # noqa: E731
        response = self._send(send)
        return RunResult(
            run=RunView.from_dict(response.json()),
            replayed=response.headers.get("idempotent-replayed") == "true",
            idempotency_key=key,
        )

    def wait_for_run(self, run_id: UUID | str, *, timeout: float = 60.0, interval: float = 0.5) -> RunView:
        """Reads the run until it is over: a background run (answered `202`) is `queued`, then
        `running` with its `progress`, until it succeeds, fails or is cancelled."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(run_id)
            if run.status not in ("queued", "running"):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is still running after {timeout} s")
            time.sleep(interval)

    def pages(self, list_method: Callable[..., Any], **query: Any) -> Iterator[Any]:
        """Every item of a list, following `next_cursor` (`list_method` is `self.runs`,
        `self.ledger`, `self.usage` or `self.payments`)."""
        cursor = None
        while True:
            page = list_method(**query, cursor=cursor)
            yield from page.data
            cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
            if not cursor:
                return
