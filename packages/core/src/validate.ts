import { QueueFlowError } from "./errors.js";
import { JOB_STATES, type JobState, type Json, TERMINAL_STATES } from "./job.js";

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const JOB_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
const GROUP = /^[A-Za-z0-9_.:@+-]{1,128}$/;

/** Default ceiling on a payload's JSON size: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

function invalid(message: string): QueueFlowError {
  return new QueueFlowError("QF_INVALID_ARGUMENT", message);
}

/**
 * Queue names become parts of Redis keys, SQL values and Mongo filters, so they are kept to
 * a small alphabet that cannot break out of any of them.
 */
export function assertQueueName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !QUEUE_NAME.test(name)) {
    throw invalid(
      `Invalid queue name ${JSON.stringify(name)}: use 1–64 letters, digits, "_", "." or "-", starting with a letter or digit.`,
    );
  }
}

/** Job ids: 1–128 of letters, digits, "_", ".", ":" and "-". */
export function assertJobId(id: unknown): asserts id is string {
  if (typeof id !== "string" || !JOB_ID.test(id)) {
    throw invalid(
      `Invalid job id ${JSON.stringify(id)}: use 1–128 letters, digits, "_", ".", ":" or "-".`,
    );
  }
}

/**
 * Group names: 1–128 of letters, digits, "_", ".", ":", "@", "+" and "-" (tenant ids and
 * e-mail addresses fit; store key separators and control characters do not).
 */
export function assertGroupName(group: unknown): asserts group is string {
  if (typeof group !== "string" || !GROUP.test(group)) {
    throw invalid(
      `Invalid group ${JSON.stringify(group)}: use 1–128 letters, digits, "_", ".", ":", "@", "+" or "-".`,
    );
  }
}

/** Job names: 1–128 of letters, digits, "_", ".", ":", "/" and "-". */
export function assertJobName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !JOB_NAME.test(name)) {
    throw invalid(
      `Invalid job name ${JSON.stringify(name)}: use 1–128 letters, digits, "_", ".", ":", "/" or "-".`,
    );
  }
}

/** A non-negative integer option, or a typed error naming the option. */
export function assertNonNegativeInt(value: unknown, option: string): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${option} must be a non-negative integer, got ${String(value)}.`);
  }
}

/** A positive integer option, or a typed error naming the option. */
export function assertPositiveInt(value: unknown, option: string): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`${option} must be a positive integer, got ${String(value)}.`);
  }
}

function findNonJson(value: unknown, path: string, seen: Set<object>): string | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : `${path} is ${value}`;
    case "object": {
      if (value === null) return null;
      if (seen.has(value)) return `${path} is a circular reference`;
      seen.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const bad = findNonJson(value[i], `${path}[${i}]`, seen);
          if (bad) return bad;
        }
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          return `${path} is a ${proto?.constructor?.name ?? "non-plain"} object (convert it, e.g. a Date to an ISO string)`;
        }
        for (const [key, v] of Object.entries(value)) {
          const bad = findNonJson(v, `${path}.${key}`, seen);
          if (bad) return bad;
        }
      }
      seen.delete(value);
      return null;
    }
    default:
      return `${path} is ${typeof value}`;
  }
}

/**
 * Check that a value survives JSON unchanged and is under `maxBytes` once serialised.
 * Returns the serialised size so callers need not stringify twice.
 * @throws QueueFlowError `QF_INVALID_PAYLOAD` or `QF_PAYLOAD_TOO_LARGE`.
 */
export function assertJson(value: unknown, what: string, maxBytes: number): asserts value is Json {
  const bad = findNonJson(value, what, new Set());
  if (bad) {
    throw new QueueFlowError("QF_INVALID_PAYLOAD", `${what} must be JSON-serialisable: ${bad}.`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxBytes) {
    throw new QueueFlowError(
      "QF_PAYLOAD_TOO_LARGE",
      `${what} is ${bytes} bytes, over the limit of ${maxBytes}; store large data elsewhere and pass a reference, or raise maxPayloadBytes.`,
      { details: { bytes, maxBytes } },
    );
  }
}

/** One of the lifecycle states. */
export function assertJobState(state: unknown): asserts state is JobState {
  if (!JOB_STATES.includes(state as JobState)) {
    throw invalid(
      `Unknown job state ${JSON.stringify(state)}; use one of ${JOB_STATES.join(", ")}.`,
    );
  }
}

/** One of the terminal states, the only ones `clean` may delete. */
export function assertTerminalState(
  state: unknown,
): asserts state is "completed" | "dead" | "cancelled" {
  if (!TERMINAL_STATES.includes(state as JobState)) {
    throw invalid(
      `clean() only deletes finished jobs: use ${TERMINAL_STATES.join(", ")}, got ${JSON.stringify(state)}.`,
    );
  }
}
