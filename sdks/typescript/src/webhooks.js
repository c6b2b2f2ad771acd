// Verifying the webhooks QuickScale sends when a run ends. Each POST carries
// `QuickScale-Signature: t=<unix seconds>,v1=<hex>`: the hex is HMAC-SHA256, under the secret
// shown when the webhook was registered, of `${t}.${body}` (the timestamp, a full stop and the
// raw body). verifyWebhook recomputes it over the body exactly as received, compares in
// constant time, refuses a timestamp too far from now, and returns the parsed event.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "QuickScale-Signature";
export const DEFAULT_TOLERANCE = 300;

/** The request is not a genuine, recent webhook from the app: do not act on it. */
export class WebhookSignatureError extends Error {
  constructor(message) {
    super(message);
    this.name = "WebhookSignatureError";
  }
}

/**
 * Checks `header` (the QuickScale-Signature value) for `body` (the raw request body: a string
 * or bytes, before any JSON parsing) and returns the event; throws WebhookSignatureError.
 */
export function verifyWebhook(body, header, secret, { tolerance = DEFAULT_TOLERANCE, now } = {}) {
  const raw = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  let timestamp = null;
  const signatures = [];
  for (const part of (header ?? "").split(",")) {
    const at = part.indexOf("=");
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (name === "t") {
      timestamp = /^-?\d+$/.test(value) ? Number(value) : null;
    } else if (name === "v1" && /^([0-9a-fA-F]{2})+$/.test(value)) {
      signatures.push(Buffer.from(value, "hex"));
    }
  }
  if (timestamp === null || signatures.length === 0) {
    throw new WebhookSignatureError("the QuickScale-Signature header is missing or malformed");
  }
  const current = now ?? Date.now() / 1000;
  if (Math.abs(current - timestamp) > tolerance) {
    throw new WebhookSignatureError("the signature's timestamp is outside the tolerance");
  }
  const expected = createHmac("sha256", secret)
    .update(`${timestamp}.`)
    .update(raw)
    .digest();
  const matches = signatures.some(
    (signature) => signature.length === expected.length && timingSafeEqual(signature, expected),
  );
  if (!matches) throw new WebhookSignatureError("the signature does not match");
  return JSON.parse(raw.toString("utf8"));
}
