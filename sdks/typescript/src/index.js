// QuickScale's TypeScript SDK: openapi-fetch over the types openapi-typescript generates from the
// API's OpenAPI document (src/schema.d.ts, by scripts/sdks.sh), and the small layer a program
// needs: the base URL and key from the environment, an idempotency key made for every run
// (and resent when it retries), 429s retried after their Retry-After, refusals thrown as
// ApiError, waiting for a run, following cursors, and verifying the webhooks the app sends
// (src/webhooks.js). Types: src/index.d.ts.
import createClient from "openapi-fetch";

export { SIGNATURE_HEADER, WebhookSignatureError, verifyWebhook } from "./webhooks.js";

const DEFAULT_BASE_URL = "http://127.0.0.1:8000";

/** A refusal: the problem document's status, code and detail. */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    const body = problem && typeof problem === "object" ? problem : {};
    super(`${status} ${body.code ?? "error"}: ${body.detail ?? ""}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = body;
    this.code = body.code ?? null;
    this.detail = body.detail ?? "";
    this.retryAfter = retryAfter;
  }
}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

function retryAfter(response) {
  const value = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

/** A client of the API; options default to the environment. */
export function createQuickScale(options = {}) {
  const baseUrl = (options.baseUrl ?? process.env.QUICKSCALE_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/$/, "");
  const apiKey = options.apiKey ?? process.env.QUICKSCALE_API_KEY;
  if (!apiKey) {
    throw new Error("No API key: pass apiKey or set QUICKSCALE_API_KEY (make one in Settings, API keys)");
  }
  const maxRetries = options.maxRetries ?? 3;
  const maxWait = options.maxWait ?? 60;
  const onRetry = options.onRetry;

  // How long to wait before sending again, or null to give the answer back. Only answers that
  // say nothing was done are retried: a 429 (after its Retry-After), a run still in progress
  // under its key, an unreachable database.
  async function waitBefore(response, attempt) {
    if (attempt >= maxRetries) return null;
    if (response.status === 429) return Math.min(retryAfter(response) ?? 1, maxWait);
    if (response.status === 503) return Math.min(retryAfter(response) ?? 1, maxWait);
    if (response.status === 409) {
      const problem = await response.clone().json().catch(() => ({}));
      return problem.code === "in_progress" ? 0.5 : null;
    }
    return null;
  }

  async function retryingFetch(request) {
    for (let attempt = 0; ; attempt += 1) {
      const response = await fetch(request.clone());
      const wait = await waitBefore(response, attempt);
      if (wait === null) return response;
      onRetry?.(response.status, wait);
      await sleep(wait);
    }
  }

  const client = createClient({
    baseUrl,
    fetch: retryingFetch,
    headers: { Authorization: `Bearer ${apiKey}` },
  });

  async function unwrap(call) {
    const { data, error, response } = await call;
    if (!response.ok) throw new ApiError(response.status, error, retryAfter(response));
    return data;
  }

  const api = {
    baseUrl,
    client,
    me: () => unwrap(client.GET("/api/v1/me")),
    balance: () => unwrap(client.GET("/api/v1/balance")),
    services: async () => (await unwrap(client.GET("/api/v1/services"))).data,
    service: (slug) => unwrap(client.GET("/api/v1/services/{slug}", { params: { path: { slug } } })),
    getRun: (id) => unwrap(client.GET("/api/v1/runs/{id}", { params: { path: { id } } })),
    /** Cancels a background run while queued or running (its held credits released). */
    cancelRun: (id) =>
      unwrap(client.POST("/api/v1/runs/{id}/cancel", { params: { path: { id } } })),
    runs: (query = {}) => unwrap(client.GET("/api/v1/runs", { params: { query } })),
    ledger: (query = {}) => unwrap(client.GET("/api/v1/ledger", { params: { query } })),
    usage: (query = {}) => unwrap(client.GET("/api/v1/usage", { params: { query } })),
    usageCsv: (query = {}) =>
      unwrap(
        client.GET("/api/v1/usage", {
          params: { query },
          headers: { Accept: "text/csv" },
          parseAs: "text",
        }),
      ),
    packs: async () => (await unwrap(client.GET("/api/v1/packs"))).data,
    payments: (query = {}) => unwrap(client.GET("/api/v1/payments", { params: { query } })),

    /** Runs a service: `input` for text and JSON services, or `{ file, contentType, filename }`. */
    async run(slug, input, { idempotencyKey, file, contentType, filename } = {}) {
      const key = idempotencyKey ?? `sdk-${crypto.randomUUID()}`;
      const headers = { "Idempotency-Key": key };
      const init = file
        ? {
            params: { query: filename ? { filename } : {} },
            body: file,
            bodySerializer: (bytes) => bytes,
            headers: { ...headers, "Content-Type": contentType ?? "application/octet-stream" },
          }
        : { body: { input }, headers };
      const path = `/api/v1/services/${encodeURIComponent(slug)}/runs`;
      const { data, error, response } = await client.POST(path, init);
      if (!response.ok) throw new ApiError(response.status, error, retryAfter(response));
      return {
        run: data,
        replayed: response.headers.get("idempotent-replayed") === "true",
        idempotencyKey: key,
      };
    },

    /** Reads the run until it is over (a background run is `queued`, then `running`). */
    async waitForRun(id, { timeoutSeconds = 60, intervalSeconds = 0.5 } = {}) {
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (;;) {
        const run = await api.getRun(id);
        if (run.status !== "running" && run.status !== "queued") return run;
        if (Date.now() > deadline) throw new Error(`run ${id} is still running after ${timeoutSeconds} s`);
        await sleep(intervalSeconds);
      }
    },

    /** Buys a pack: the URL of the processor's checkout page. */
    async checkout(pack, { idempotencyKey } = {}) {
      const key = idempotencyKey ?? `sdk-${crypto.randomUUID()}`;
      const made = await unwrap(
        client.POST("/api/v1/checkout", { body: { pack }, headers: { "Idempotency-Key": key } }),
      );
      return made.url;
    },

    /** Every item of a list, following `next_cursor` (`list` is `api.runs`, `api.ledger`...). */
    async *pages(list, query = {}) {
      let cursor;
      do {
        const page = await list(cursor ? { ...query, cursor } : query);
        yield* page.data;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    },
  };
  return api;
}
