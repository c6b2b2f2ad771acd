// Types of the hand-written layer (src/index.js), over the generated src/schema.d.ts.
import type { Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths };
export type Schemas = components["schemas"];
export type Run = Schemas["RunView"];
/** The body of a webhook the app sends when a run ends. */
export type WebhookEvent = Schemas["WebhookEvent"];

export interface Options {
  /** Default: QUICKSCALE_BASE_URL, else http://127.0.0.1:8000. */
  baseUrl?: string;
  /** Default: QUICKSCALE_API_KEY. */
  apiKey?: string;
  /** How often a 429, a 503 or a run still in progress is sent again (default 3). */
  maxRetries?: number;
  /** The longest wait, in seconds, whatever Retry-After says (default 60). */
  maxWait?: number;
  /** Told of each retry: the status answered and the seconds waited. */
  onRetry?: (status: number, waitSeconds: number) => void;
}

export declare class ApiError extends Error {
  status: number;
  code: string | null;
  detail: string;
  /** The whole problem document (a 402 has `required` and `available`). */
  problem: Record<string, unknown>;
  /** Seconds, from the Retry-After header. */
  retryAfter: number | null;
}

export interface RunResult {
  run: Run;
  /** True when the idempotency key was used before: this is the first run, charged once. */
  replayed: boolean;
  idempotencyKey: string;
}

type Query<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? Q
  : never;

interface Page<T> {
  data: T[];
  next_cursor?: string | null;
}

export interface QuickScale {
  baseUrl: string;
  /** The typed openapi-fetch client, for anything the layer does not wrap. */
  client: Client<paths>;
  me(): Promise<Schemas["Me"]>;
  balance(): Promise<Schemas["BalanceView"]>;
  services(): Promise<Schemas["ServiceView"][]>;
  service(slug: string): Promise<Schemas["ServiceView"]>;
  run(
    slug: string,
    input?: unknown,
    options?: { idempotencyKey?: string; file?: Uint8Array; contentType?: string; filename?: string },
  ): Promise<RunResult>;
  getRun(id: string): Promise<Run>;
  /** Cancels a background run while queued or running; the run as it is now. */
  cancelRun(id: string): Promise<Run>;
  waitForRun(id: string, options?: { timeoutSeconds?: number; intervalSeconds?: number }): Promise<Run>;
  runs(query?: Query<"/api/v1/runs">): Promise<Schemas["RunList"]>;
  ledger(query?: Query<"/api/v1/ledger">): Promise<Schemas["EntryList"]>;
  usage(query?: Query<"/api/v1/usage">): Promise<Schemas["UsageList"]>;
  usageCsv(query?: Query<"/api/v1/usage">): Promise<string>;
  packs(): Promise<Schemas["PackView"][]>;
  checkout(pack: string, options?: { idempotencyKey?: string }): Promise<string>;
  payments(query?: Query<"/api/v1/payments">): Promise<Schemas["PaymentList"]>;
  pages<T, Q extends object>(list: (query: Q) => Promise<Page<T>>, query?: Q): AsyncGenerator<T>;
}

export declare function createQuickScale(options?: Options): QuickScale;

/** The header that carries a webhook's signature. */
export declare const SIGNATURE_HEADER: "QuickScale-Signature";

/** The request is not a genuine, recent webhook from the app: do not act on it. */
export declare class WebhookSignatureError extends Error {}

/**
 * Checks the QuickScale-Signature header for the raw body (HMAC-SHA256 of `${t}.${body}`,
 * compared in constant time, `t` within `tolerance` seconds of `now`, default 300 and the
 * clock) and returns the event; throws WebhookSignatureError.
 */
export declare function verifyWebhook(
  body: string | Uint8Array,
  header: string | null | undefined,
  secret: string,
  options?: { tolerance?: number; now?: number },
): WebhookEvent;
