import { describe, expect, it } from "vitest";
import {
  calculatePriority,
  defaultAttemptsFor,
  priorityBand,
  resolvePriority,
} from "./priority.js";

describe("priorities", () => {
  it("maps named levels to the floor of their band", () => {
    expect(
      (["critical", "high", "normal", "low", "background"] as const).map(resolvePriority),
    ).toEqual([15, 10, 5, 1, 0]);
  });

  it("defaults to normal", () => {
    expect(resolvePriority(undefined)).toBe(5);
  });

  it("rejects numbers outside 0–20 and unknown names", () => {
    for (const bad of [-1, 21, 2.5, Number.NaN]) {
      expect(() => resolvePriority(bad)).toThrow(
        expect.objectContaining({ code: "QF_INVALID_ARGUMENT" }),
      );
    }
    expect(() => resolvePriority("urgent" as never)).toThrow(/Unknown priority level/);
  });

  it("places integers in the seeds' bands", () => {
    expect([20, 15, 14, 10, 9, 5, 4, 1, 0].map(priorityBand)).toEqual([
      "critical",
      "critical",
      "high",
      "high",
      "normal",
      "normal",
      "low",
      "low",
      "background",
    ]);
  });

  it("gives more default attempts to more important bands", () => {
    expect([17, 12, 6, 2, 0].map(defaultAttemptsFor)).toEqual([5, 4, 3, 2, 1]);
  });

  it("raises the priority of premium, urgent, revenue work near its deadline", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const base = calculatePriority({}, now);
    const hot = calculatePriority(
      {
        customerTier: "enterprise",
        urgency: "critical",
        businessImpact: "revenue",
        deadline: now + 60_000,
      },
      now,
    );
    expect(base).toBe(5);
    expect(hot).toBe(20);
    expect(calculatePriority({ urgency: "low", customerTier: "free" }, now)).toBeLessThan(base);
    expect(calculatePriority({ deadline: now + 3 * 3_600_000 }, now)).toBe(base + 2);
  });
});
