import { QueueFlowError } from "./errors.js";

/** Named priority levels, each the floor of its band (see {@link PRIORITY_BANDS}). */
export type PriorityLevel = "critical" | "high" | "normal" | "low" | "background";

/** A priority: an integer 0–20 (higher runs first) or a named level. */
export type Priority = number | PriorityLevel;

/** Lowest and highest numeric priority. */
export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 20;

/** The bands named levels map to; each band's floor is the level's value. */
export const PRIORITY_BANDS: Readonly<
  Record<PriorityLevel, { min: number; max: number; defaultAttempts: number }>
> = {
  critical: { min: 15, max: 20, defaultAttempts: 5 },
  high: { min: 10, max: 14, defaultAttempts: 4 },
  normal: { min: 5, max: 9, defaultAttempts: 3 },
  low: { min: 1, max: 4, defaultAttempts: 2 },
  background: { min: 0, max: 0, defaultAttempts: 1 },
};

const LEVELS = Object.keys(PRIORITY_BANDS) as PriorityLevel[];

/**
 * Turn a priority option into the stored integer.
 * @throws QueueFlowError `QF_INVALID_ARGUMENT` for an unknown level or a number outside 0–20.
 */
export function resolvePriority(priority: Priority | undefined): number {
  if (priority === undefined) return PRIORITY_BANDS.normal.min;
  if (typeof priority === "string") {
    const band = PRIORITY_BANDS[priority];
    if (band === undefined) {
      throw new QueueFlowError(
        "QF_INVALID_ARGUMENT",
        `Unknown priority level "${priority}"; use one of ${LEVELS.join(", ")} or an integer 0–20.`,
      );
    }
    return band.min;
  }
  if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      `Priority must be an integer from 0 to 20 (higher runs first), got ${String(priority)}.`,
    );
  }
  return priority;
}

/** The named band an integer priority falls in. */
export function priorityBand(priority: number): PriorityLevel {
  for (const level of LEVELS) {
    if (priority >= PRIORITY_BANDS[level].min) return level;
  }
  return "background";
}

/** Attempts a job gets when it sets none: more for more important work. */
export function defaultAttemptsFor(priority: number): number {
  return PRIORITY_BANDS[priorityBand(priority)].defaultAttempts;
}

/** Business factors that {@link calculatePriority} weighs. */
export interface PriorityFactors {
  customerTier?: "free" | "standard" | "premium" | "enterprise";
  urgency?: "low" | "normal" | "high" | "critical";
  businessImpact?: "none" | "low" | "medium" | "high" | "revenue";
  /** Work due soon is raised: within an hour +4, within a day +2. */
  deadline?: Date | number;
}

const TIER_POINTS = { free: 0, standard: 1, premium: 3, enterprise: 4 } as const;
const URGENCY_POINTS = { low: 0, normal: 2, high: 5, critical: 8 } as const;
const IMPACT_POINTS = { none: 0, low: 1, medium: 2, high: 3, revenue: 4 } as const;

/**
 * Turn business factors into a priority 0–20, so producers state why work matters instead of
 * hand-picking numbers. Pure: pass `now` for a reproducible result.
 * @example
 * queue.add("payment.capture", data, {
 *   priority: calculatePriority({ customerTier: "premium", urgency: "high", businessImpact: "revenue" }),
 * });
 */
export function calculatePriority(factors: PriorityFactors, now: number = Date.now()): number {
  let score = 2;
  score += TIER_POINTS[factors.customerTier ?? "standard"];
  score += URGENCY_POINTS[factors.urgency ?? "normal"];
  score += IMPACT_POINTS[factors.businessImpact ?? "none"];
  if (factors.deadline !== undefined) {
    const msLeft = new Date(factors.deadline).getTime() - now;
    if (msLeft <= 3_600_000) score += 4;
    else if (msLeft <= 86_400_000) score += 2;
  }
  return Math.max(MIN_PRIORITY, Math.min(MAX_PRIORITY, score));
}
