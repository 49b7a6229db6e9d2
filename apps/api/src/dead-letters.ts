import { findJobType, type JobMetrics, type Logger } from "@queueflow/app-kit";
import type { JobRecord, Json } from "@queueflow/core";
import {
  DeadLetterAlerts,
  type DeadLetterSummary,
  type DeadLetters,
  type JsonObject,
  type ReplayResult,
  webhookNotifier,
} from "@queueflow/dlq";
import { Gauge } from "prom-client";
import type { ApiConfig } from "./config.js";

/**
 * Why a patched payload was refused. Thrown from the patch function handed to
 * `DeadLetters.replay`, so the job stays dead and the result lists it under `failed`.
 */
class PatchedPayloadInvalid extends Error {
  override name = "PatchedPayloadInvalid";
}
const PATCH_REFUSED = "PatchedPayloadInvalid: ";

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * RFC 7396: `null` deletes a key, objects merge, anything else replaces. A new value is
 * built (the target is never mutated). The route has refused `__proto__`, `constructor` and
 * `prototype` keys in the patch already; the payload's own keys come from the store, where
 * the catalog's strict schemas put them.
 */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out = new Map<string, Json>(isObject(target) ? Object.entries(target) : []);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) out.delete(key);
    else out.set(key, applyMergePatch(out.get(key) ?? null, value));
  }
  return Object.fromEntries(out) as Json;
}

/**
 * The patch as `DeadLetters.replay` takes it: merge into the dead job's payload, then check
 * the result against the job type's schema (as a submit would), so a replay cannot slip a
 * payload past the catalog. A payload the schema refuses leaves the job dead.
 */
export function validatedPatch(patch: JsonObject): (job: JobRecord) => Json {
  return (job) => {
    const type = findJobType(job.name);
    if (!type) throw new PatchedPayloadInvalid(`job type "${job.name}" is not in the catalog`);
    if (!isObject(job.payload)) throw new PatchedPayloadInvalid("the payload is not an object");
    const next = applyMergePatch(job.payload, patch);
    const checked = type.payload.safeParse(next);
    if (!checked.success) {
      throw new PatchedPayloadInvalid(
        `the patched payload does not fit ${job.name}: ${checked.error.issues
          .map((i) => `${i.path.join(".") || "(root)"} ${i.message}`)
          .join("; ")}`,
      );
    }
    return next;
  };
}

/** A replay result as the API answers it: payloads a schema refused are `invalid_payload`. */
export function replayView(result: ReplayResult) {
  return {
    ...result,
    failed: result.failed.map((f) =>
      f.message.startsWith(PATCH_REFUSED)
        ? {
            ...f,
            reason: "invalid_payload" as const,
            message: f.message.slice(PATCH_REFUSED.length),
          }
        : f,
    ),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Stats with ISO times, per queue trimmed to what a dashboard shows. */
export function statsView(s: DeadLetterSummary) {
  return {
    at: iso(s.at),
    total: s.total,
    byQueue: s.byQueue,
    byName: s.byName,
    byErrorClass: s.byErrorClass,
    byErrorName: s.byErrorName,
    oldestFailedAt: iso(s.oldestFinishedAt),
    newestFailedAt: iso(s.newestFinishedAt),
    byAge: s.byAge,
    queues: Object.fromEntries(
      Object.entries(s.queues).map(([queue, q]) => [
        queue,
        {
          total: q.total,
          byName: q.byName,
          byErrorClass: q.byErrorClass,
          byErrorName: q.byError,
          oldestFailedAt: iso(q.oldestFinishedAt),
          newestFailedAt: iso(q.newestFinishedAt),
        },
      ]),
    ),
  };
}

/**
 * How much the dead-letter total grew within a window, from the totals this process read
 * (each `/health` call records one). Growth is measured from the lowest total in the window,
 * so a purge inside it does not hide later growth. With no earlier reading it is 0.
 */
export class DeadLetterGrowth {
  readonly #samples: { at: number; total: number }[] = [];
  constructor(readonly windowMs: number) {}

  record(total: number, at = Date.now()): number {
    this.#samples.push({ at, total });
    // Bounded however often /health is called: the oldest readings go first.
    while (
      this.#samples.length > 1 &&
      (at - this.#samples[0]!.at > this.windowMs || this.#samples.length > MAX_SAMPLES)
    ) {
      this.#samples.shift();
    }
    let lowest = total;
    for (const s of this.#samples) lowest = Math.min(lowest, s.total);
    return total - lowest;
  }
}

const MAX_SAMPLES = 10_000;

/**
 * `queueflow_dead_letters{queue}`, `queueflow_dead_letters_by_error_class{queue,error_class}`
 * and `queueflow_dead_letter_oldest_age_seconds{queue}`, read at scrape time with one
 * `DeadLetters.stats()` (counters in the store: no dead job is loaded). A failed read keeps
 * the last values.
 */
export function registerDeadLetterGauges(metrics: JobMetrics, dlq: DeadLetters): void {
  let reading: Promise<DeadLetterSummary | null> | null = null;
  const read = () => {
    reading ??= dlq
      .stats()
      .catch(() => null)
      .finally(() => {
        setImmediate(() => {
          reading = null;
        });
      });
    return reading;
  };
  const total: Gauge<"queue"> = new Gauge({
    name: "queueflow_dead_letters",
    help: "Dead letters per queue, from the store's dead-letter stats at scrape time",
    labelNames: ["queue"] as const,
    registers: [metrics.registry],
    async collect() {
      const s = await read();
      if (s) for (const [queue, n] of Object.entries(s.byQueue)) total.set({ queue }, n);
    },
  });
  const byClass: Gauge<"queue" | "error_class"> = new Gauge({
    name: "queueflow_dead_letters_by_error_class",
    help: "Dead letters per queue and class of their latest error, at scrape time",
    labelNames: ["queue", "error_class"] as const,
    registers: [metrics.registry],
    async collect() {
      const s = await read();
      if (!s) return;
      byClass.reset(); // classes that emptied must disappear, not keep their last count
      for (const [queue, q] of Object.entries(s.queues)) {
        for (const [errorClass, n] of Object.entries(q.byErrorClass)) {
          byClass.set({ queue, error_class: errorClass }, n);
        }
      }
    },
  });
  const oldest: Gauge<"queue"> = new Gauge({
    name: "queueflow_dead_letter_oldest_age_seconds",
    help: "Age of the oldest dead letter per queue (0 when none), at scrape time",
    labelNames: ["queue"] as const,
    registers: [metrics.registry],
    async collect() {
      const s = await read();
      if (!s) return;
      for (const [queue, q] of Object.entries(s.queues)) {
        const age = q.oldestFinishedAt === null ? 0 : (s.at - q.oldestFinishedAt) / 1_000;
        oldest.set({ queue }, Math.max(0, age));
      }
    },
  });
}

/**
 * Dead-letter alerts to a webhook, when `DLQ_ALERT_WEBHOOK_URL` is set: one rule on the
 * total, one on its growth between evaluations. State lives in this process, so each API
 * replica alerts on its own. Returns a stop function.
 */
export function startDeadLetterAlerts(
  dlq: DeadLetters,
  config: NonNullable<ApiConfig["deadLetters"]["alerts"]>,
  log: Logger,
): () => Promise<void> {
  const alerts = new DeadLetterAlerts(dlq, {
    count: { fireAt: config.count, resolveBelow: Math.max(1, Math.floor(config.count / 2)) },
    growth: { fireAt: config.growth },
    intervalMs: config.intervalMs,
    notifiers: [webhookNotifier({ url: config.webhookUrl })],
    onError: (err, context) => log.warn({ err, ...context }, "dead-letter alert failed"),
  });
  alerts.start();
  return () => alerts.stop();
}
