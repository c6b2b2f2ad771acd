"""Webhook verification against a webhook the Rust side signed (sdks/webhook_fixture.json,
made by crates/service-sdk/tests/webhook_fixture.rs)."""

import json
from pathlib import Path

import pytest

from quickscale import WebhookSignatureError, verify_webhook

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "webhook_fixture.json").read_text())
SECRET = FIXTURE["secret"]
HEADER = FIXTURE["header"]
BODY = FIXTURE["body"].encode("utf-8")
NOW = FIXTURE["timestamp"]


def test_a_webhook_signed_by_the_app_verifies_and_gives_its_event():
    event = verify_webhook(BODY, HEADER, SECRET, now=NOW + 60)
    assert event["type"] == "run.succeeded"
    assert event["data"]["cost"] == "1.50"
    assert event["data"]["background"] is True
    # The body as text (UTF-8) verifies too.
    assert verify_webhook(FIXTURE["body"], HEADER, SECRET, now=NOW)["id"] == event["id"]


def test_another_secret_or_a_changed_body_is_refused():
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_webhook(BODY, HEADER, SECRET + "0", now=NOW)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_webhook(BODY.replace(b"1.50", b"0.50"), HEADER, SECRET, now=NOW)


def test_an_old_or_future_timestamp_is_refused():
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify_webhook(BODY, HEADER, SECRET, now=NOW + 301)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify_webhook(BODY, HEADER, SECRET, now=NOW - 301)
    assert verify_webhook(BODY, HEADER, SECRET, tolerance=1000, now=NOW + 900)


@pytest.mark.parametrize("header", [None, "", "t=1780000000", "v1=00", "t=x,v1=00", "t=1780000000,v1=zz"])
def test_a_missing_or_malformed_header_is_refused(header):
    with pytest.raises(WebhookSignatureError, match="missing or malformed"):
        verify_webhook(BODY, header, SECRET, now=NOW)


def test_any_matching_v1_is_enough():
    v1 = HEADER.split("v1=")[1]
    header = f"t={NOW},v1={'00' * 32},v1={v1}"
    assert verify_webhook(BODY, header, SECRET, now=NOW)["type"] == "run.succeeded"
