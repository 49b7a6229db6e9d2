import type { Recommendation, StrategyBounds } from "./types.js";

/** A rate policy, as in the HPA's `behavior`: change at most `value` per `periodMs`. */
export interface ScalingPolicy {
  /** `Pods`: a count of workers. `Percent`: a percentage of the workers at the period's start. */
  type: "Pods" | "Percent";
  value: number;
  periodMs: number;
}

/** One direction's rules, named after the HPA's `behavior.scaleUp` / `scaleDown`. */
export interface ScalingRules {
  /** Recommendations remembered for this long; up takes their minimum, down their maximum. */
  stabilizationWindowMs?: number;
  /** `Max`: the policy allowing the most change wins; `Min`: the least; `Disabled`: never scale. */
  selectPolicy?: "Max" | "Min" | "Disabled";
  policies?: ScalingPolicy[];
}

/** Options of {@link Guards}. */
export interface GuardOptions {
  /** Default 1. */
  minWorkers?: number;
  /** Default 10. */
  maxWorkers?: number;
  /** Default as the HPA: no stabilization; +100 % or +4 per 15 s, whichever is more. */
  scaleUp?: ScalingRules;
  /** Default as the HPA: 300 s stabilization; −100 % per 15 s. */
  scaleDown?: ScalingRules;
  /** After any change, hold for this long whatever the strategy says (the seed's); default 0. */
  cooldownMs?: number;
}

/** The guards' answer for one recommendation. */
export interface GuardResult {
  desired: number;
  /** Which guards changed the answer. */
  limitedBy: string[];
}

type Required2<T> = { [K in keyof T]-?: NonNullable<T[K]> };

/** The HPA's default scale-up rules. */
export const DEFAULT_SCALE_UP: Required2<ScalingRules> = {
  stabilizationWindowMs: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Percent", value: 100, periodMs: 15_000 },
    { type: "Pods", value: 4, periodMs: 15_000 },
  ],
};

/** The HPA's default scale-down rules. */
export const DEFAULT_SCALE_DOWN: Required2<ScalingRules> = {
  stabilizationWindowMs: 300_000,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodMs: 15_000 }],
};

interface ScaleEvent {
  at: number;
  from: number;
  to: number;
}

function rules(given: ScalingRules | undefined, fallback: Required2<ScalingRules>) {
  return {
    stabilizationWindowMs: given?.stabilizationWindowMs ?? fallback.stabilizationWindowMs,
    selectPolicy: given?.selectPolicy ?? fallback.selectPolicy,
    policies: given?.policies ?? fallback.policies,
  };
}

/**
 * Wraps any strategy so its answers do not flap, following the Kubernetes HPA's algorithm:
 * stabilize (scale up to the lowest recommendation of the up window, down to the highest of
 * the down window), limit the step by the rate policies, then clamp to min/max. The seed's
 * cooldown holds the count for `cooldownMs` after each change. Time is passed in, so the
 * guards are deterministic and the simulator runs them unchanged.
 * @throws RangeError when the bounds are inverted or a policy is not positive.
 */
export class Guards {
  readonly bounds: StrategyBounds;
  readonly #up: Required2<ScalingRules>;
  readonly #down: Required2<ScalingRules>;
  readonly #cooldownMs: number;
  #recommendations: { at: number; value: number }[] = [];
  #events: ScaleEvent[] = [];
  #lastChangeAt = Number.NEGATIVE_INFINITY;

  constructor(options: GuardOptions = {}) {
    const min = options.minWorkers ?? 1;
    const max = options.maxWorkers ?? 10;
    if (!(min >= 0 && max >= min && Number.isInteger(min) && Number.isInteger(max))) {
      throw new RangeError(`Guards: need integers 0 ≤ minWorkers ≤ maxWorkers, got ${min}..${max}`);
    }
    this.bounds = { minWorkers: min, maxWorkers: max };
    this.#up = rules(options.scaleUp, DEFAULT_SCALE_UP);
    this.#down = rules(options.scaleDown, DEFAULT_SCALE_DOWN);
    this.#cooldownMs = options.cooldownMs ?? 0;
    for (const p of [...this.#up.policies, ...this.#down.policies]) {
      if (!(p.value > 0 && p.periodMs > 0)) {
        throw new RangeError(`Guards: policy ${p.type} needs value > 0 and periodMs > 0`);
      }
    }
  }

  /**
   * Turn a recommendation into the count to apply now, and remember it (the change, if any,
   * is assumed applied: it counts against the rate policies and starts the cooldown).
   */
  apply(
    now: number,
    current: number,
    recommendation: Pick<Recommendation, "desired">,
  ): GuardResult {
    const { minWorkers, maxWorkers } = this.bounds;
    const limitedBy: string[] = [];
    const raw = Math.min(maxWorkers, Math.max(minWorkers, Math.round(recommendation.desired)));
    if (raw !== recommendation.desired) limitedBy.push("bounds");
    this.#recommendations.push({ at: now, value: raw });
    this.#prune(now);

    let desired = this.#stabilize(now, current, raw);
    if (desired !== raw) limitedBy.push(desired > raw ? "stabilization:down" : "stabilization:up");

    if (desired !== current && now - this.#lastChangeAt < this.#cooldownMs) {
      desired = current;
      limitedBy.push("cooldown");
    }
    if (desired > current) {
      const limit = this.#limit(now, current, "up");
      if (desired > limit) {
        desired = limit;
        limitedBy.push("policy:up");
      }
    } else if (desired < current) {
      const limit = this.#limit(now, current, "down");
      if (desired < limit) {
        desired = limit;
        limitedBy.push("policy:down");
      }
    }
    // Bounds win over rate policies, as in the HPA: a pool below min goes to min at once.
    const bounded = Math.min(maxWorkers, Math.max(minWorkers, desired));
    if (bounded !== desired && !limitedBy.includes("bounds")) limitedBy.push("bounds");
    desired = bounded;
    if (desired !== current) {
      this.#events.push({ at: now, from: current, to: desired });
      this.#lastChangeAt = now;
    }
    return { desired, limitedBy };
  }

  #stabilize(now: number, current: number, raw: number): number {
    let upRecommendation = raw;
    let downRecommendation = raw;
    const upCutoff = now - this.#up.stabilizationWindowMs;
    const downCutoff = now - this.#down.stabilizationWindowMs;
    for (const r of this.#recommendations) {
      if (r.at > upCutoff) upRecommendation = Math.min(upRecommendation, r.value);
      if (r.at > downCutoff) downRecommendation = Math.max(downRecommendation, r.value);
    }
    let result = current;
    if (result < upRecommendation) result = upRecommendation;
    if (result > downRecommendation) result = downRecommendation;
    return result;
  }

  /** The furthest the policies let the count move from `current` in this direction now. */
  #limit(now: number, current: number, direction: "up" | "down"): number {
    const r = direction === "up" ? this.#up : this.#down;
    if (r.selectPolicy === "Disabled" || r.policies.length === 0) return current;
    const proposals = r.policies.map((p) => {
      let added = 0;
      let removed = 0;
      for (const e of this.#events) {
        if (e.at <= now - p.periodMs) continue;
        if (e.to > e.from) added += e.to - e.from;
        else removed += e.from - e.to;
      }
      const start = current - added + removed;
      if (direction === "up") {
        return p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      }
      return p.type === "Pods" ? start - p.value : Math.floor(start * (1 - p.value / 100));
    });
    // "Max" lets the most change through: the highest limit up, the lowest limit down.
    const most = direction === "up" ? Math.max(...proposals) : Math.min(...proposals);
    const least = direction === "up" ? Math.min(...proposals) : Math.max(...proposals);
    const limit = r.selectPolicy === "Max" ? most : least;
    return direction === "up" ? Math.max(current, limit) : Math.min(current, limit);
  }

  #prune(now: number): void {
    const keepRecs = Math.max(this.#up.stabilizationWindowMs, this.#down.stabilizationWindowMs);
    this.#recommendations = this.#recommendations.filter((r) => now - r.at <= keepRecs);
    const periods = [...this.#up.policies, ...this.#down.policies].map((p) => p.periodMs);
    const keepEvents = Math.max(0, ...periods);
    this.#events = this.#events.filter((e) => now - e.at <= keepEvents);
  }
}
