import { QueueFlowError } from "@queueflow/core";

/** The typed error every bad input to this package throws. */
export function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

/** `value` if it is a positive safe integer, else `QF_INVALID_ARGUMENT` naming `option`. */
export function positiveInt(value: unknown, option: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`${option} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

/** `value` if it is a finite positive number, else `QF_INVALID_ARGUMENT` naming `option`. */
export function positiveNumber(value: unknown, option: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw invalid(`${option} must be a finite number above 0, got ${String(value)}.`);
  }
  return value;
}

/** A time given as ms since the epoch or a Date, as ms; `QF_INVALID_ARGUMENT` otherwise. */
export function timeMs(value: unknown, option: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw invalid(`${option} must be a Date or a finite time in ms since the epoch.`);
  }
  return ms;
}

/** A bounded batch size: at least 1, at most `max`. */
export function batchSize(value: unknown, option: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = positiveInt(value, option);
  if (n > max) throw invalid(`${option} must be at most ${max}, got ${n}.`);
  return n;
}

/** Throws `QF_INVALID_ARGUMENT` unless `signal` is absent or an AbortSignal-like object. */
export function checkSignal(signal: unknown, option: string): void {
  if (signal === undefined) return;
  if (typeof signal !== "object" || signal === null || !("aborted" in signal)) {
    throw invalid(`${option} must be an AbortSignal.`);
  }
}

/**
 * Run `fn` over `items` with at most `limit` calls in flight, keeping input order: bounds the
 * round trips a single call puts on the store at once.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}
