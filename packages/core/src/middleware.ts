import type { ClaimedJob, EnqueueResult, Settlement, SettleOutcome } from "./contract.js";
import type { NewJob } from "./job.js";

/** What an `add` middleware sees: the jobs about to be stored, metadata still editable. */
export interface AddContext {
  queue: string;
  /** The validated jobs of one add/addBulk call; edit `metadata` to carry context (trace ids). */
  jobs: NewJob[];
}

/**
 * What a `process` or `settle` middleware sees: the attempt being run. `job` is the same
 * object in both hooks of one attempt, so a middleware may key per-attempt state on it
 * (a WeakMap) to carry it from `process` to `settle`.
 */
export interface ProcessContext {
  queue: string;
  workerId: string;
  job: ClaimedJob;
}

/** What a `settle` middleware sees: the attempt and how it ends. */
export interface SettleContext extends ProcessContext {
  settlement: Settlement;
}

/**
 * Hooks around the three operations of a job's life, for tracing, metrics and logging
 * (`@queueflow/otel` is built on them). Each calls `next()` exactly once and returns its
 * result (or rethrows its error); the handler runs inside `process`, so context a middleware
 * activates there (an OpenTelemetry span) is the handler's context. Middlewares run in the
 * order given, the first outermost.
 */
export interface Middleware {
  add?(ctx: AddContext, next: () => Promise<EnqueueResult[]>): Promise<EnqueueResult[]>;
  process?(ctx: ProcessContext, next: () => Promise<unknown>): Promise<unknown>;
  settle?(ctx: SettleContext, next: () => Promise<SettleOutcome>): Promise<SettleOutcome>;
}

type Hook = "add" | "process" | "settle";
type ContextOf<H extends Hook> = H extends "add"
  ? AddContext
  : H extends "process"
    ? ProcessContext
    : SettleContext;
type ResultOf<H extends Hook> = H extends "add"
  ? EnqueueResult[]
  : H extends "process"
    ? unknown
    : SettleOutcome;

/**
 * Run `base` wrapped by every middleware that has the hook. With none it calls `base`
 * directly, so an uninstrumented queue pays nothing.
 */
export function runWithMiddleware<H extends Hook>(
  middlewares: readonly Middleware[],
  hook: H,
  ctx: ContextOf<H>,
  base: () => Promise<ResultOf<H>>,
): Promise<ResultOf<H>> {
  if (middlewares.length === 0) return base();
  let next = base;
  for (let i = middlewares.length - 1; i >= 0; i--) {
    const fn = middlewares[i]![hook] as
      | ((c: ContextOf<H>, n: () => Promise<ResultOf<H>>) => Promise<ResultOf<H>>)
      | undefined;
    if (!fn) continue;
    const inner = next;
    next = () => fn.call(middlewares[i], ctx, inner);
  }
  return next();
}
