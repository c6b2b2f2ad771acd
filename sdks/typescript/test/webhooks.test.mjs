// Webhook verification against a webhook the Rust side signed (sdks/webhook_fixture.json, made
// by crates/service-sdk/tests/webhook_fixture.rs).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { WebhookSignatureError, verifyWebhook } from "../src/index.js";

const fixture = JSON.parse(readFileSync(new URL("../../webhook_fixture.json", import.meta.url), "utf8"));
const { secret, header, timestamp: now } = fixture;
const body = Buffer.from(fixture.body, "utf8");

test("a webhook signed by the app verifies and gives its event", () => {
  const event = verifyWebhook(body, header, secret, { now: now + 60 });
  assert.equal(event.type, "run.succeeded");
  assert.equal(event.data.cost, "1.50");
  assert.equal(event.data.background, true);
  assert.equal(verifyWebhook(fixture.body, header, secret, { now }).id, event.id);
});

test("another secret or a changed body is refused", () => {
  assert.throws(() => verifyWebhook(body, header, `${secret}0`, { now }), /does not match/);
  const changed = Buffer.from(fixture.body.replace("1.50", "0.50"), "utf8");
  assert.throws(() => verifyWebhook(changed, header, secret, { now }), WebhookSignatureError);
});

test("an old or future timestamp is refused", () => {
  assert.throws(() => verifyWebhook(body, header, secret, { now: now + 301 }), /tolerance/);
  assert.throws(() => verifyWebhook(body, header, secret, { now: now - 301 }), /tolerance/);
  assert.ok(verifyWebhook(body, header, secret, { now: now + 900, tolerance: 1000 }));
});

test("a missing or malformed header is refused", () => {
  for (const bad of [undefined, "", "t=1780000000", "v1=00", "t=x,v1=00", "t=1780000000,v1=zz"]) {
    assert.throws(() => verifyWebhook(body, bad, secret, { now }), /missing or malformed/, String(bad));
  }
});

test("any matching v1 is enough", () => {
  const v1 = header.split("v1=")[1];
  const several = `t=${now},v1=${"00".repeat(32)},v1=${v1}`;
  assert.equal(verifyWebhook(body, several, secret, { now }).type, "run.succeeded");
});
