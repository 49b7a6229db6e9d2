import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from "fastify";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { ApiConfig } from "../config.js";
import { ApiError } from "./errors.js";

/**
 * The budget a route draws on. Classes get separate budgets so that a dashboard polling
 * reads cannot use up a producer's submissions, and the costly bulk operations (a replay or
 * purge may touch 10 000 jobs) have a budget far smaller than single-job management.
 */
export type RouteClass = "read" | "submit" | "manage" | "bulk";

/** Who a request counts against: its verified key's id, else the client's address. */
export type RequesterOf = (request: FastifyRequest) => string;

const WHAT: Record<RouteClass, string> = {
  read: "read requests",
  submit: "submit requests",
  manage: "management requests",
  bulk: "bulk dead-letter and clean requests",
};

/**
 * One `onRequest` hook per route class, each with a bucket per requester shared by every
 * route of the class (@fastify/rate-limit keeps one store per hook, so one hook per class is
 * what makes the bucket span routes).
 */
export function requestLimiters(
  app: FastifyInstance,
  settings: ApiConfig["rateLimit"],
  requesterOf: RequesterOf,
): Record<RouteClass, onRequestAsyncHookHandler> {
  const max: Record<RouteClass, number> = {
    read: settings.readMax,
    submit: settings.max,
    manage: settings.manageMax,
    bulk: settings.bulkMax,
  };
  const limiter = (routeClass: RouteClass): onRequestAsyncHookHandler =>
    app.rateLimit({
      max: max[routeClass],
      timeWindow: settings.windowMs,
      keyGenerator: (request) => `${routeClass}:${requesterOf(request)}`,
      // Thrown by the plugin, so it goes through the error handler like every other error.
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          429,
          "RATE_LIMITED",
          `Rate limit: ${context.max} ${WHAT[routeClass]} per ${context.after} per key; retry after ${Math.ceil(context.ttl / 1000)} s.`,
        ),
    });
  return {
    read: limiter("read"),
    submit: limiter("submit"),
    manage: limiter("manage"),
    bulk: limiter("bulk"),
  };
}

/**
 * Jobs a key may submit per window, counted per job: the request limit alone would let one
 * key add 100 jobs per request. A batch that does not fit is refused whole (batches are all
 * or nothing) and is not charged, so a smaller batch still goes through.
 */
export class JobBudget {
  readonly #limiter: RateLimiterMemory;
  readonly #max: number;
  readonly #windowMs: number;

  constructor(max: number, windowMs: number) {
    this.#max = max;
    this.#windowMs = windowMs;
    this.#limiter = new RateLimiterMemory({ points: max, duration: windowMs / 1000 });
  }

  /**
   * Charge `jobs` to `requester`.
   * @throws ApiError 429 `RATE_LIMITED` (with `Retry-After` set on `reply`) when they do not fit.
   */
  async charge(requester: string, jobs: number, reply: FastifyReply): Promise<void> {
    try {
      await this.#limiter.consume(requester, jobs);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      await this.#limiter.reward(requester, jobs);
      const retryAfterSec = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      void reply.header("retry-after", String(retryAfterSec));
      throw new ApiError(
        429,
        "RATE_LIMITED",
        `Rate limit: ${this.#max} jobs per ${this.#windowMs / 1000} s per key; ${jobs} do not fit in the ${Math.max(0, this.#max - (err.consumedPoints - jobs))} left. Retry after ${retryAfterSec} s.`,
      );
    }
  }
}
