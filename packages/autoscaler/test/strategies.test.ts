import { describe, expect, it } from "vitest";
import {
  aggressive,
  conservative,
  holt,
  linearRegression,
  predictive,
  slo,
  thresholds,
} from "../src/index.js";
import { input } from "./helpers.js";

describe("thresholds (the seed's default)", () => {
  const s = thresholds({ scaleUpThreshold: 100, scaleDownThreshold: 10 });

  it("adds two workers when the error rate passes 20 %", () => {
    const r = s(input({ errorRate: 25, depth: 500, workers: 5 }));
    expect(r.desired).toBe(7);
    expect(r.reason).toMatch(/High error rate: 25.0%/);
    expect(r.numbers.increment).toBe(2);
  });

  it("adds ⌈(depth − up) ÷ up⌉ workers above the up threshold", () => {
    expect(s(input({ depth: 350, workers: 5 })).desired).toBe(8);
    expect(s(input({ depth: 101, workers: 5 })).desired).toBe(6);
  });

  it("removes one below the down threshold, never under min", () => {
    expect(s(input({ depth: 3, workers: 5 })).desired).toBe(4);
    expect(s(input({ depth: 3, workers: 1 })).desired).toBe(1);
  });

  it("holds within thresholds and clamps to max", () => {
    expect(s(input({ depth: 50, workers: 5 })).reason).toBe("Within thresholds");
    expect(s(input({ depth: 10_000, workers: 18 })).desired).toBe(20);
  });
});

describe("aggressive and conservative", () => {
  it("aggressive at least doubles above its threshold and shrinks only when idle", () => {
    const s = aggressive();
    expect(s(input({ depth: 30, workers: 4 })).desired).toBe(8);
    expect(s(input({ depth: 400, workers: 4 })).desired).toBe(20);
    expect(s(input({ depth: 0, active: 2, workers: 4 })).desired).toBe(3);
    expect(s(input({ depth: 5, active: 4, workers: 4 })).desired).toBe(4);
  });

  it("conservative adds one only after depth stayed high for every sustained sample", () => {
    const s = conservative({ scaleUpThreshold: 200, sustainedSamples: 3 });
    expect(s(input({ depth: 500, workers: 4 }, [{ depth: 100 }, { depth: 300 }])).desired).toBe(4);
    expect(s(input({ depth: 500, workers: 4 }, [{ depth: 250 }, { depth: 300 }])).desired).toBe(5);
    expect(s(input({ depth: 5, workers: 4 })).desired).toBe(3);
  });
});

describe("forecasting", () => {
  it("linear regression recovers an exact line", () => {
    const fit = linearRegression([-30, -20, -10, 0], [10, 20, 30, 40]);
    expect(fit.slope).toBeCloseTo(1);
    expect(fit.intercept).toBeCloseTo(40);
    expect(fit.r2).toBeCloseTo(1);
  });

  it("Holt's smoothing follows a linear trend", () => {
    const { level, trend } = holt([10, 20, 30, 40, 50], 0.5, 0.3);
    expect(level).toBeCloseTo(50);
    expect(trend).toBeCloseTo(10);
  });
});

describe("predictive", () => {
  // Depth 10, 20, 30, 40 at 10 s intervals: +1 job/s, so 100 in 60 s.
  const t0 = 1_700_000_000_000;
  const history = [10, 20, 30].map((depth, i) => ({ depth, at: t0 + i * 10_000 }));
  const now = { depth: 40, at: t0 + 30_000, workers: 5 };

  it("regression predicts depth 60 s ahead as the seed does and scales up on growth", () => {
    const r = predictive({ method: "regression", scaleUpThreshold: 100 })(input(now, history));
    expect(r.numbers.predictedDepth).toBeCloseTo(100);
    expect(r.numbers.growthRate).toBeCloseTo(3);
    expect(r.numbers.confidence).toBeCloseTo(1);
    expect(r.desired).toBe(6);
  });

  it("regression adds up to three workers when the forecast far exceeds the threshold", () => {
    const r = predictive({ method: "regression", scaleUpThreshold: 20 })(input(now, history));
    expect(r.desired).toBe(8);
  });

  it("holt forecasts from level and trend per sample interval", () => {
    const r = predictive({ method: "holt", alpha: 0.5, beta: 0.3 })(input(now, history));
    expect(r.numbers.predictedDepth).toBeCloseTo(40 + 6 * 10);
    expect(r.desired).toBeGreaterThan(5);
  });

  it("removes one when depth and forecast are both low", () => {
    const flat = [2, 2, 2].map((depth, i) => ({ depth, at: t0 + i * 10_000 }));
    const r = predictive()(input({ depth: 2, at: t0 + 30_000, workers: 5 }, flat));
    expect(r.desired).toBe(4);
  });
});

describe("slo", () => {
  it("sizes by Little's law with headroom plus the backlog drain", () => {
    // λ = 10/s, S = 0.5 s: 5 busy, ×1.2 = 6; depth 100 × 0.5 s ÷ 5 s = 10 more.
    const r = slo({ targetWaitMs: 10_000, headroom: 0.2 })(
      input({ arrivalRate: 10, serviceTimeMs: 500, depth: 100, workers: 2 }),
    );
    expect(r.numbers.offeredLoad).toBeCloseTo(5);
    expect(r.numbers.serveWorkers).toBeCloseTo(6);
    expect(r.numbers.drainWorkers).toBeCloseTo(10);
    expect(r.desired).toBe(16);
  });

  it("keeps the count within tolerance", () => {
    const r = slo({ targetWaitMs: 10_000 })(
      input({ arrivalRate: 10, serviceTimeMs: 1000, depth: 0, workers: 12 }),
    );
    expect(r.desired).toBe(12);
    expect(r.reason).toMatch(/Within tolerance/);
  });

  it("uses the configured service time until one is measured, else grows by one", () => {
    const withPrior = slo({ targetWaitMs: 10_000, serviceTimeMs: 1000 });
    expect(withPrior(input({ arrivalRate: 5, workers: 1 })).desired).toBe(6);
    expect(slo({ targetWaitMs: 10_000 })(input({ depth: 3, workers: 2 })).desired).toBe(3);
  });

  it("rejects a target that is not positive", () => {
    expect(() => slo({ targetWaitMs: 0 })).toThrow(RangeError);
  });
});
