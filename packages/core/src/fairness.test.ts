import { describe, expect, it } from "vitest";
import { WeightedBands } from "./fairness.js";

describe("WeightedBands", () => {
  it("splits claims 60/30/10 over time", () => {
    const bands = new WeightedBands({ high: 60, normal: 30, low: 10 });
    const served = { high: 0, normal: 0, low: 0 };
    for (let i = 0; i < 100; i++) {
      for (const slice of bands.allocate(1)) {
        const level = slice.min === 10 ? "high" : slice.min === 5 ? "normal" : "low";
        served[level] += slice.count;
      }
    }
    expect(served).toEqual({ high: 60, normal: 30, low: 10 });
  });

  it("hands each band its priority range and never more slots than asked", () => {
    const slices = new WeightedBands({ critical: 1, background: 1 }).allocate(10);
    expect(slices).toEqual([
      { min: 15, max: 20, count: 5 },
      { min: 0, max: 0, count: 5 },
    ]);
  });

  it("serves nothing when no band has a weight", () => {
    expect(new WeightedBands({}).allocate(5)).toEqual([]);
  });
});
