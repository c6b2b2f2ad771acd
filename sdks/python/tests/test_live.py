"""The Python SDK against a live app (started by crates/app-web/tests/sdks.rs, which sets
QUICKSCALE_BASE_URL, QUICKSCALE_API_KEY for an account with credits, QS_SDK_TEST_POOR_KEY for
one with none, QS_SDK_TEST_LIMITED_KEY, a key of the first account to spend the request
budget of, and QS_SDK_TEST_CAPPED_KEY, a key of the first account capped at 1 credit a month)."""

import os
import time
import uuid
from decimal import Decimal

import pytest

from quickscale import ApiError, QuickScale

SENTIMENT = "text_sentiment_analysis"


@pytest.fixture(scope="module")
def client():
    return QuickScale()


def balance(client):
    return Decimal(client.balance().total)


def test_the_base_url_and_the_key_come_from_the_environment(client):
    assert client.base_url == os.environ["QUICKSCALE_BASE_URL"]
    me = client.me()
    assert me.email == "sdk@example.com"
    assert me.key.name == "SDK tests"


def test_a_missing_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("QUICKSCALE_API_KEY")
    with pytest.raises(ValueError, match="QUICKSCALE_API_KEY"):
        QuickScale()


def test_lists_services(client):
    services = {s.slug: s for s in client.services()}
    assert SENTIMENT in services
    assert services[SENTIMENT].cost == "1"
    assert services[SENTIMENT].input_ == "text"
    assert client.service(SENTIMENT).name == services[SENTIMENT].name


def test_runs_a_paid_service_and_reads_the_run_and_the_balance(client):
    before = balance(client)
    result = client.run(SENTIMENT, "I love this product, it is wonderful")
    assert not result.replayed
    run = result.run
    assert run.status == "succeeded"
    assert run.charged == "1"
    assert run.output["summary"]
    again = client.get_run(run.id)
    assert again.id == run.id and again.status == "succeeded"
    assert client.wait_for_run(run.id).status == "succeeded"
    assert balance(client) == before - 1
    assert Decimal(run.balance_after) == before - 1
    listed = [r.id for r in client.pages(client.runs, service=SENTIMENT, limit=1)]
    assert run.id in listed
    assert len(listed) == len(set(listed)), "every run once, through the cursors"


def test_a_402_when_credits_run_out(client):
    poor = QuickScale(api_key=os.environ["QS_SDK_TEST_POOR_KEY"])
    assert poor.balance().total == "0"
    with pytest.raises(ApiError) as refused:
        poor.run(SENTIMENT, "I love it")
    assert refused.value.status == 402
    assert refused.value.code == "insufficient_credits"
    assert refused.value.problem["required"] == "1"
    assert refused.value.problem["available"] == "0"
    assert poor.balance().total == "0", "nothing was charged"


def test_a_402_that_names_the_keys_monthly_cap(client):
    capped = QuickScale(api_key=os.environ["QS_SDK_TEST_CAPPED_KEY"])
    before = balance(client)
    capped.run(SENTIMENT, "I love it")
    with pytest.raises(ApiError) as refused:
        capped.run(SENTIMENT, "I love it")
    assert refused.value.status == 402
    assert refused.value.code == "key_monthly_cap"
    assert refused.value.problem["type"] == "urn:quickscale:problem:key-monthly-cap"
    assert refused.value.problem["limit"] == "1"
    assert refused.value.problem["spent"] == "1"
    assert balance(client) == before - 1, "the refused run charged nothing"


def test_an_idempotent_retry_charges_once(client):
    before = balance(client)
    key = f"order-{uuid.uuid4()}"
    first = client.run(SENTIMENT, "Great service", idempotency_key=key)
    second = client.run(SENTIMENT, "Great service", idempotency_key=key)
    assert not first.replayed and second.replayed
    assert second.run.id == first.run.id
    assert balance(client) == before - 1
    # Without a key the SDK makes one per call: two calls are two runs.
    a = client.run(SENTIMENT, "Great service")
    b = client.run(SENTIMENT, "Great service")
    assert a.idempotency_key != b.idempotency_key and a.run.id != b.run.id
    assert balance(client) == before - 3


def test_a_429_is_retried_after_its_retry_after():
    key = os.environ["QS_SDK_TEST_LIMITED_KEY"]
    impatient = QuickScale(api_key=key, max_retries=0)
    limited = None
    for _ in range(300):
        try:
            impatient.me()
        except ApiError as error:
            limited = error
            break
    assert limited is not None, "the key's budget ran out"
    assert limited.status == 429 and limited.code == "rate_limited"
    assert limited.retry_after >= 1

    # The budget is spent: a burst from a patient client meets 429s, waits them out, and
    # every call succeeds.
    waits = []
    patient = QuickScale(api_key=key, on_retry=lambda status, wait: waits.append((status, wait)))
    started = time.monotonic()
    for _ in range(4):
        assert patient.me().email == "sdk@example.com"
    elapsed = time.monotonic() - started
    assert waits and all(status == 429 and wait >= 1 for status, wait in waits), waits
    assert elapsed >= sum(wait for _, wait in waits) * 0.9, (elapsed, waits)
