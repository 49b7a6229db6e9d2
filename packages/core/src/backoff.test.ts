import { describe, expect, it } from "vitest";
import { computeBackoff } from "./backoff.js";
import type { JobRecord } from "./job.js";

const job = { id: "j1" } as JobRecord;

describe("computeBackoff", () => {
  it("keeps a fixed delay whatever the attempt", () => {
    expect(computeBackoff({ type: "fixed", delayMs: 500 }, 1, null, job)).toBe(500);
    expect(computeBackoff({ type: "fixed", delayMs: 500 }, 7, null, job)).toBe(500);
  });

  it("doubles an exponential delay per attempt", () => {
    const b = { type: "exponential", delayMs: 100 } as const;
    expect([1, 2, 3, 4].map((a) => computeBackoff(b, a, null, job))).toEqual([100, 200, 400, 800]);
  });

  it("caps every strategy at maxDelayMs", () => {
    expect(
      computeBackoff({ type: "exponential", delayMs: 1000, maxDelayMs: 5000 }, 20, null, job),
    ).toBe(5000);
    expect(computeBackoff({ type: "fixed", delayMs: 9000, maxDelayMs: 10 }, 1, null, job)).toBe(10);
  });

  it("draws jittered delays between half and the full exponential delay", () => {
    const b = { type: "exponential", delayMs: 1000, jitter: true } as const;
    expect(computeBackoff(b, 3, null, job, {}, () => 0)).toBe(2000);
    expect(computeBackoff(b, 3, null, job, {}, () => 0.999999)).toBe(4000);
  });

  it("calls a registered custom strategy with the attempt, error and job", () => {
    const seen: unknown[] = [];
    const delay = computeBackoff({ type: "custom", name: "linear" }, 3, "boom", job, {
      linear: (attempt, error, j) => {
        seen.push(error, j.id);
        return attempt * 250;
      },
    });
    expect(delay).toBe(750);
    expect(seen).toEqual(["boom", "j1"]);
  });

  it("refuses an unregistered custom strategy with a typed error", () => {
    expect(() => computeBackoff({ type: "custom", name: "nope" }, 1, null, job)).toThrow(
      expect.objectContaining({ code: "QF_INVALID_ARGUMENT" }),
    );
  });

  it("turns a negative or non-finite custom delay into an immediate retry", () => {
    expect(computeBackoff({ type: "custom", name: "bad" }, 1, null, job, { bad: () => -5 })).toBe(
      0,
    );
    expect(
      computeBackoff({ type: "custom", name: "bad" }, 1, null, job, { bad: () => Number.NaN }),
    ).toBe(0);
  });
});
