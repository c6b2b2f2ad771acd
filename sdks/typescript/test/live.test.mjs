// The TypeScript SDK against a live app (started by crates/app-web/tests/sdks.rs, which sets
// QUICKSCALE_BASE_URL, QUICKSCALE_API_KEY for an account with credits, QS_SDK_TEST_POOR_KEY for
// one with none, QS_SDK_TEST_LIMITED_KEY, a key of the first account to spend the request
// budget of, and QS_SDK_TEST_CAPPED_KEY, a key of the first account capped at 1 credit a month).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, createQuickScale } from "../src/index.js";

const SENTIMENT = "text_sentiment_analysis";
const api = createQuickScale();
const credits = async (client = api) => Number((await client.balance()).total);

test("the base URL and the key come from the environment", async () => {
  assert.equal(api.baseUrl, process.env.QUICKSCALE_BASE_URL);
  const me = await api.me();
  assert.equal(me.email, "sdk@example.com");
  assert.equal(me.key.name, "SDK tests");
  assert.throws(() => createQuickScale({ apiKey: "" }), /QUICKSCALE_API_KEY/);
});

test("lists services", async () => {
  const services = await api.services();
  const sentiment = services.find((s) => s.slug === SENTIMENT);
  assert.ok(sentiment, JSON.stringify(services));
  assert.equal(sentiment.cost, "1");
  assert.equal(sentiment.input, "text");
  assert.equal((await api.service(SENTIMENT)).name, sentiment.name);
});

test("runs a paid service and reads the run and the balance", async () => {
  const before = await credits();
  const { run, replayed } = await api.run(SENTIMENT, "I love this product, it is wonderful");
  assert.equal(replayed, false);
  assert.equal(run.status, "succeeded");
  assert.equal(run.charged, "1");
  assert.ok(run.output.summary);
  assert.equal((await api.getRun(run.id)).id, run.id);
  assert.equal((await api.waitForRun(run.id)).status, "succeeded");
  assert.equal(await credits(), before - 1);
  const listed = [];
  for await (const item of api.pages(api.runs, { service: SENTIMENT, limit: 1 })) listed.push(item.id);
  assert.ok(listed.includes(run.id));
  assert.equal(new Set(listed).size, listed.length, "every run once, through the cursors");
});

test("a 402 when credits run out", async () => {
  const poor = createQuickScale({ apiKey: process.env.QS_SDK_TEST_POOR_KEY });
  assert.equal((await poor.balance()).total, "0");
  await assert.rejects(poor.run(SENTIMENT, "I love it"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 402);
    assert.equal(error.code, "insufficient_credits");
    assert.equal(error.problem.required, "1");
    assert.equal(error.problem.available, "0");
    return true;
  });
  assert.equal((await poor.balance()).total, "0", "nothing was charged");
});

test("a 402 that names the key's monthly cap", async () => {
  const capped = createQuickScale({ apiKey: process.env.QS_SDK_TEST_CAPPED_KEY });
  const before = await credits();
  await capped.run(SENTIMENT, "I love it");
  await assert.rejects(capped.run(SENTIMENT, "I love it"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 402);
    assert.equal(error.code, "key_monthly_cap");
    assert.equal(error.problem.type, "urn:quickscale:problem:key-monthly-cap");
    assert.equal(error.problem.limit, "1");
    assert.equal(error.problem.spent, "1");
    return true;
  });
  assert.equal(await credits(), before - 1, "the refused run charged nothing");
});

test("an idempotent retry charges once", async () => {
  const before = await credits();
  const idempotencyKey = `order-${crypto.randomUUID()}`;
  const first = await api.run(SENTIMENT, "Great service", { idempotencyKey });
  const second = await api.run(SENTIMENT, "Great service", { idempotencyKey });
  assert.equal(first.replayed, false);
  assert.equal(second.replayed, true);
  assert.equal(second.run.id, first.run.id);
  assert.equal(await credits(), before - 1);
  // Without a key the SDK makes one per call: two calls are two runs.
  const a = await api.run(SENTIMENT, "Great service");
  const b = await api.run(SENTIMENT, "Great service");
  assert.notEqual(a.idempotencyKey, b.idempotencyKey);
  assert.notEqual(a.run.id, b.run.id);
  assert.equal(await credits(), before - 3);
});

test("a 429 is retried after its Retry-After", async () => {
  const apiKey = process.env.QS_SDK_TEST_LIMITED_KEY;
  const impatient = createQuickScale({ apiKey, maxRetries: 0 });
  let limited;
  for (let i = 0; i < 300 && !limited; i += 1) {
    try {
      await impatient.me();
    } catch (error) {
      limited = error;
    }
  }
  assert.ok(limited instanceof ApiError, "the key's budget ran out");
  assert.equal(limited.status, 429);
  assert.equal(limited.code, "rate_limited");
  assert.ok(limited.retryAfter >= 1);

  // The budget is spent: a burst from a patient client meets 429s, waits them out, and every
  // call succeeds.
  const waits = [];
  const patient = createQuickScale({ apiKey, onRetry: (status, wait) => waits.push([status, wait]) });
  const started = performance.now();
  for (let i = 0; i < 4; i += 1) assert.equal((await patient.me()).email, "sdk@example.com");
  const elapsed = (performance.now() - started) / 1000;
  assert.ok(waits.length > 0, "the burst met a 429");
  assert.ok(waits.every(([status, wait]) => status === 429 && wait >= 1), JSON.stringify(waits));
  const waited = waits.reduce((sum, [, wait]) => sum + wait, 0);
  assert.ok(elapsed >= waited * 0.9, `${elapsed} s for ${JSON.stringify(waits)}`);
});
