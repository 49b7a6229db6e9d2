import type { DeadLetters } from "./dead-letters.js";
import type { DeadLetterSummary } from "./stats.js";
import { invalid, positiveNumber } from "./validate.js";

/** What an alert watches. */
export type AlertRule = "count" | "growth" | "oldest_age";

/**
 * A threshold with hysteresis: the alert fires once when the value reaches `fireAt`, and
 * resolves once when it falls below `resolveBelow` (default `fireAt`). A `resolveBelow`
 * under `fireAt` keeps a value hovering at the threshold from flapping.
 */
export interface AlertThreshold {
  fireAt: number;
  resolveBelow?: number;
}

/** A change of an alert's state, handed to every notifier. */
export interface AlertEvent {
  rule: AlertRule;
  status: "firing" | "resolved";
  /** The value that crossed: a count, a growth in jobs, or an age in ms. */
  value: number;
  fireAt: number;
  resolveBelow: number;
  /** Store time of the evaluation, ms. */
  at: number;
  /** Dead jobs in all watched queues at the evaluation. */
  total: number;
  byQueue: Record<string, number>;
  /** One line for humans. */
  message: string;
}

/** Delivers an alert event somewhere. A rejection is reported to `onError`, never thrown. */
export type Notifier = (event: AlertEvent) => Promise<void>;

/** Where an error reported to {@link DeadLetterAlertsOptions.onError} came from. */
export type AlertErrorContext =
  | { phase: "stats" }
  | { phase: "notify"; event: AlertEvent; notifier: number }
  /** `onEvaluate` threw during a timer-driven evaluation. */
  | { phase: "evaluate" };

/** The values one evaluation measured and the events it raised. */
export interface AlertEvaluation {
  at: number;
  /** Total dead jobs. */
  count: number;
  /** Change in the total since the previous evaluation; null on the first. */
  growth: number | null;
  /** Age of the oldest dead job in ms; 0 when there is none. */
  oldestAgeMs: number;
  events: AlertEvent[];
}

/** Options of {@link DeadLetterAlerts}. */
export interface DeadLetterAlertsOptions {
  /** Alert on the total number of dead jobs. */
  count?: AlertThreshold;
  /**
   * Alert on the growth of the total between two evaluations (so per `intervalMs` when run
   * by the timer). Replays and purges make it negative.
   */
  growth?: AlertThreshold;
  /** Alert on the age of the oldest dead job, ms. */
  oldestAgeMs?: AlertThreshold;
  /** Time between evaluations, ms, counted from the end of the previous one. */
  intervalMs: number;
  /** Called for every event, concurrently. */
  notifiers: readonly Notifier[];
  /** Receives failures of stats or of a notifier; evaluation goes on. Default `console.error`. */
  onError?: (error: unknown, context: AlertErrorContext) => void;
  /** Called after each evaluation, after its notifiers settled. */
  onEvaluate?: (evaluation: AlertEvaluation) => void;
}

interface RuleState {
  rule: AlertRule;
  fireAt: number;
  resolveBelow: number;
  firing: boolean;
}

const DESCRIPTIONS: Record<AlertRule, string> = {
  count: "dead jobs",
  growth: "new dead jobs since the last check",
  oldest_age: "ms since the oldest dead job died",
};

function checkThreshold(t: AlertThreshold | undefined, option: string): RuleState | null {
  if (t === undefined) return null;
  if (typeof t !== "object" || t === null || !Number.isFinite(t.fireAt)) {
    throw invalid(`${option}.fireAt must be a finite number.`);
  }
  const resolveBelow = t.resolveBelow ?? t.fireAt;
  if (!Number.isFinite(resolveBelow) || resolveBelow > t.fireAt) {
    throw invalid(`${option}.resolveBelow must be a finite number no greater than fireAt.`);
  }
  return { rule: "count", fireAt: t.fireAt, resolveBelow, firing: false };
}

/**
 * Threshold alerts on a {@link DeadLetters}' stats with hysteresis: each rule fires once when
 * its value reaches `fireAt` and resolves once when it falls below `resolveBelow`. State is
 * per instance (in this process): run one alerting process, or expect one event per process.
 *
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` for no rule, a bad threshold or interval.
 * @example
 * const alerts = new DeadLetterAlerts(dlq, {
 *   count: { fireAt: 100, resolveBelow: 50 },
 *   intervalMs: 60_000,
 *   notifiers: [webhookNotifier({ url: process.env.ALERT_URL! }), logNotifier(console)],
 * });
 * alerts.start();
 */
export class DeadLetterAlerts {
  readonly #source: DeadLetters;
  readonly #rules: RuleState[];
  readonly #options: DeadLetterAlertsOptions;
  readonly #intervalMs: number;
  #previousTotal: number | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> = Promise.resolve();
  #started = false;

  constructor(source: DeadLetters, options: DeadLetterAlertsOptions) {
    if (typeof options !== "object" || options === null) {
      throw invalid("DeadLetterAlerts needs options with thresholds, intervalMs and notifiers.");
    }
    this.#source = source;
    this.#options = options;
    this.#intervalMs = positiveNumber(options.intervalMs, "intervalMs");
    if (
      !Array.isArray(options.notifiers) ||
      options.notifiers.some((n) => typeof n !== "function")
    ) {
      throw invalid("notifiers must be an array of async functions (event) => Promise<void>.");
    }
    const rules: [AlertRule, AlertThreshold | undefined][] = [
      ["count", options.count],
      ["growth", options.growth],
      ["oldest_age", options.oldestAgeMs],
    ];
    this.#rules = [];
    for (const [rule, threshold] of rules) {
      const state = checkThreshold(threshold, rule === "oldest_age" ? "oldestAgeMs" : rule);
      if (state !== null) this.#rules.push({ ...state, rule });
    }
    if (this.#rules.length === 0) {
      throw invalid("DeadLetterAlerts needs at least one of count, growth or oldestAgeMs.");
    }
  }

  /** The rules currently firing. */
  get firing(): AlertRule[] {
    return this.#rules.filter((r) => r.firing).map((r) => r.rule);
  }

  /**
   * Evaluate once: read the stats, update each rule, notify. Never rejects: a stats failure
   * is reported to `onError` and leaves every rule as it was (returning null).
   */
  async evaluate(): Promise<AlertEvaluation | null> {
    let stats: DeadLetterSummary;
    try {
      stats = await this.#source.stats();
    } catch (error) {
      this.#report(error, { phase: "stats" });
      return null;
    }
    const growth = this.#previousTotal === null ? null : stats.total - this.#previousTotal;
    this.#previousTotal = stats.total;
    const values: Record<AlertRule, number | null> = {
      count: stats.total,
      growth,
      oldest_age:
        stats.oldestFinishedAt === null ? 0 : Math.max(0, stats.at - stats.oldestFinishedAt),
    };
    const events: AlertEvent[] = [];
    for (const rule of this.#rules) {
      const value = values[rule.rule];
      if (value === null) continue;
      let status: AlertEvent["status"] | null = null;
      if (!rule.firing && value >= rule.fireAt) status = "firing";
      else if (rule.firing && value < rule.resolveBelow) status = "resolved";
      if (status === null) continue;
      rule.firing = status === "firing";
      events.push({
        rule: rule.rule,
        status,
        value,
        fireAt: rule.fireAt,
        resolveBelow: rule.resolveBelow,
        at: stats.at,
        total: stats.total,
        byQueue: stats.byQueue,
        message:
          status === "firing"
            ? `Dead letters: ${value} ${DESCRIPTIONS[rule.rule]} reached the threshold ${rule.fireAt}.`
            : `Dead letters: ${value} ${DESCRIPTIONS[rule.rule]} is back below ${rule.resolveBelow}.`,
      });
    }
    await Promise.all(events.map((event) => this.#notify(event)));
    const evaluation: AlertEvaluation = {
      at: stats.at,
      count: stats.total,
      growth,
      oldestAgeMs: values.oldest_age ?? 0,
      events,
    };
    this.#options.onEvaluate?.(evaluation);
    return evaluation;
  }

  /**
   * Evaluate now and then `intervalMs` after each evaluation ends, until {@link stop}.
   * The timer is unref'd. Calling it again while started does nothing.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const tick = (): void => {
      this.#timer = undefined;
      if (!this.#started) return;
      this.#running = this.evaluate().then(
        () => this.#schedule(tick),
        (error: unknown) => {
          this.#report(error, { phase: "evaluate" });
          this.#schedule(tick);
        },
      );
    };
    tick();
  }

  #schedule(tick: () => void): void {
    if (!this.#started) return;
    this.#timer = setTimeout(tick, this.#intervalMs);
    this.#timer.unref?.();
  }

  /** Stop the timer; resolves when an evaluation in progress has finished. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #notify(event: AlertEvent): Promise<void> {
    const results = await Promise.allSettled(
      this.#options.notifiers.map(async (notify) => notify(event)),
    );
    results.forEach((r, notifier) => {
      if (r.status === "rejected") this.#report(r.reason, { phase: "notify", event, notifier });
    });
  }

  #report(error: unknown, context: AlertErrorContext): void {
    const onError = this.#options.onError;
    if (onError === undefined) {
      console.error(`@queueflow/dlq: alert ${context.phase} failed`, error);
      return;
    }
    try {
      onError(error, context);
    } catch (secondary) {
      // The error handler itself failed; evaluation must go on, so say so where we can.
      console.error("@queueflow/dlq: alert onError threw", secondary);
    }
  }
}
