import type { Json } from "@queueflow/core";
import type { AlertEvent, Notifier } from "../alerts.js";
import { invalid, positiveNumber } from "../validate.js";

/** Options of {@link webhookNotifier}. */
export interface WebhookNotifierOptions {
  /** Where to POST; `http:` or `https:`. */
  url: string | URL;
  /** Extra request headers (an auth token). `content-type` is JSON unless you set it. */
  headers?: Record<string, string>;
  /** Per-attempt timeout, ms. Default 5000. */
  timeoutMs?: number;
  /** Retries after a failed attempt. Default 3 (four attempts in all). */
  retries?: number;
  /** Delay before the first retry, ms, doubled for each next one. Default 500. */
  backoffMs?: number;
  /** Longest delay between attempts, ms. Default 10 000. */
  maxBackoffMs?: number;
  /** The JSON body for an event (e.g. a chat message). Default: the event itself. */
  body?: (event: AlertEvent) => Json;
  /** The fetch to use. Default the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * Thrown (as the notifier's rejection) when every attempt failed: the last HTTP status, or
 * the last network error or timeout as `cause`.
 */
export class WebhookDeliveryError extends Error {
  override name = "WebhookDeliveryError";
  /** Attempts made. */
  readonly attempts: number;
  /** HTTP status of the last attempt, or null when it got no response. */
  readonly status: number | null;

  constructor(message: string, attempts: number, status: number | null, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.attempts = attempts;
    this.status = status;
  }
}

/**
 * A notifier that POSTs each event as JSON. An attempt fails on a network error, on the
 * timeout (via `AbortSignal.timeout`) and on any non-2xx status; timeouts, network errors,
 * 408, 429 and 5xx are retried with exponential backoff, other 4xx are not (the request
 * will not get better).
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` at creation for a bad URL or option.
 * @example
 * const notify = webhookNotifier({ url: "https://hooks.example.com/dlq", retries: 2 });
 */
export function webhookNotifier(options: WebhookNotifierOptions): Notifier {
  let url: URL;
  try {
    url = new URL(String(options?.url));
  } catch {
    throw invalid(`webhookNotifier url ${JSON.stringify(options?.url)} is not a URL.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid(`webhookNotifier url must be http: or https:, got ${url.protocol}`);
  }
  const timeoutMs = positiveNumber(options.timeoutMs ?? 5_000, "timeoutMs");
  const retries = options.retries ?? 3;
  if (!Number.isSafeInteger(retries) || retries < 0 || retries > 20) {
    throw invalid(`retries must be an integer from 0 to 20, got ${String(retries)}.`);
  }
  const backoffMs = positiveNumber(options.backoffMs ?? 500, "backoffMs");
  const maxBackoffMs = positiveNumber(options.maxBackoffMs ?? 10_000, "maxBackoffMs");
  const doFetch = options.fetch ?? globalThis.fetch;
  const headers = { "content-type": "application/json", ...options.headers };
  const target = url.toString();

  return async (event) => {
    const body = JSON.stringify(options.body === undefined ? event : options.body(event));
    let status: number | null = null;
    let cause: unknown;
    for (let attempt = 1; ; attempt++) {
      let retryable = true;
      try {
        const response = await doFetch(target, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        // Drain the body so the connection can be reused.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        status = response.status;
        cause = undefined;
        retryable = status >= 500 || status === 408 || status === 429;
      } catch (err) {
        status = null;
        cause = err;
      }
      if (!retryable || attempt > retries) {
        const what = status === null ? "no response" : `HTTP ${status}`;
        throw new WebhookDeliveryError(
          `Alert webhook ${url.origin}${url.pathname} failed after ${attempt} attempt(s): ${what}.`,
          attempt,
          status,
          cause,
        );
      }
      const delay = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
}
