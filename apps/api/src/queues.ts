import { isQueueName, QUEUE_NAMES, type QueueName, schemasOf } from "@queueflow/app-kit";
import {
  type AnyJobMap,
  type JobCounts,
  type JobSchemas,
  type Middleware,
  Queue,
  type StorageAdapter,
} from "@queueflow/core";
import { ApiError } from "./http/errors.js";

/** The catalog's queues, one `Queue` object each, validating payloads with the catalog. */
export class Queues {
  readonly #queues: Map<QueueName, Queue>;

  constructor(adapter: StorageAdapter, middleware: Middleware[]) {
    this.#queues = new Map(
      QUEUE_NAMES.map((name) => [
        name,
        new Queue(name, {
          adapter,
          // The zod schemas are Standard Schema validators: `add` rejects a bad payload with
          // QF_INVALID_PAYLOAD before anything is stored.
          schemas: schemasOf(name) as JobSchemas<AnyJobMap>,
          middleware,
        }),
      ]),
    );
  }

  /** The queue, or a 404 for a name outside the catalog. */
  get(name: string): Queue {
    const queue = isQueueName(name) ? this.#queues.get(name) : undefined;
    if (!queue) {
      throw new ApiError(
        404,
        "QUEUE_NOT_FOUND",
        `No queue "${name}". Queues: ${QUEUE_NAMES.join(", ")}.`,
      );
    }
    return queue;
  }

  all(): Queue[] {
    return [...this.#queues.values()];
  }
}

interface Sample {
  at: number;
  finished: number;
  completed: number;
}

/**
 * Completions per second per queue, from the growth of the store's counts between reads: the
 * store counts what every worker on every host finished, which no single process sees. A
 * sample is kept per read (at most one per second) for a minute.
 */
export class Throughput {
  readonly #samples = new Map<string, Sample[]>();
  readonly #windowMs: number;

  constructor(windowMs = 60_000) {
    this.#windowMs = windowMs;
  }

  /** Record counts read at `at` and return the rates over the window so far. */
  record(
    queue: string,
    counts: JobCounts,
    at = Date.now(),
  ): { completedPerSec: number; finishedPerSec: number; windowSec: number } | null {
    const samples = this.#samples.get(queue) ?? [];
    const sample = {
      at,
      completed: counts.completed,
      finished: counts.completed + counts.dead + counts.cancelled,
    };
    const last = samples.at(-1);
    if (!last || at - last.at >= 1_000) samples.push(sample);
    while (samples.length > 1 && at - samples[0]!.at > this.#windowMs) samples.shift();
    this.#samples.set(queue, samples);
    const first = samples[0]!;
    const seconds = (at - first.at) / 1_000;
    // Retention deleting finished jobs makes the counts shrink: report no rate rather than a
    // negative one.
    if (seconds < 1 || sample.finished < first.finished) return null;
    return {
      completedPerSec: round((sample.completed - first.completed) / seconds),
      finishedPerSec: round((sample.finished - first.finished) / seconds),
      windowSec: Math.round(seconds),
    };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
