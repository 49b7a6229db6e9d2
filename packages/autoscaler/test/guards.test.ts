import { describe, expect, it } from "vitest";
import { Guards } from "../src/index.js";

const rec = (desired: number) => ({ desired });
const S = 1000;

describe("Guards: stabilization windows (HPA defaults: up 0 s, down 300 s)", () => {
  it("scales down only to the highest recommendation of the last 300 s", () => {
    const g = new Guards({ minWorkers: 1, maxWorkers: 20 });
    expect(g.apply(0, 10, rec(10)).desired).toBe(10);
    const held = g.apply(60 * S, 10, rec(4));
    expect(held.desired).toBe(10);
    expect(held.limitedBy).toContain("stabilization:down");
    expect(g.apply(200 * S, 10, rec(6)).desired).toBe(10);
    // At 301 s the 10 has left the window; the highest left is 6.
    expect(g.apply(301 * S, 10, rec(4)).desired).toBe(6);
  });

  it("scales up at once by default, and to the window's lowest with an up window", () => {
    expect(new Guards({ maxWorkers: 20 }).apply(0, 3, rec(5)).desired).toBe(5);
    const g = new Guards({ maxWorkers: 20, scaleUp: { stabilizationWindowMs: 60 * S } });
    g.apply(0, 3, rec(3));
    const held = g.apply(10 * S, 3, rec(10));
    expect(held.desired).toBe(3);
    expect(held.limitedBy).toContain("stabilization:up");
    g.apply(30 * S, 3, rec(10));
    // The 3 recommended at 0 s has left the window; the 100 % per 15 s policy allows 6, 4 pods 7.
    expect(g.apply(61 * S, 3, rec(10)).desired).toBe(7);
  });
});

describe("Guards: rate policies", () => {
  it("applies the HPA default up policies: the larger of +100 % and +4 per 15 s", () => {
    const g = new Guards({ maxWorkers: 50 });
    const first = g.apply(0, 2, rec(20));
    expect(first.desired).toBe(6);
    expect(first.limitedBy).toContain("policy:up");
    // Within the same 15 s period the period started at 2: nothing more yet.
    expect(g.apply(5 * S, 6, rec(20)).desired).toBe(6);
    expect(g.apply(16 * S, 6, rec(20)).desired).toBe(12);
    expect(g.apply(32 * S, 12, rec(20)).desired).toBe(20);
  });

  it("selectPolicy Min takes the policy allowing the least change; Disabled never moves", () => {
    const min = new Guards({ maxWorkers: 50, scaleUp: { selectPolicy: "Min" } });
    expect(min.apply(0, 10, rec(40)).desired).toBe(14);
    const off = new Guards({ maxWorkers: 50, scaleDown: { selectPolicy: "Disabled" } });
    const r = off.apply(0, 10, rec(2));
    expect(r.desired).toBe(10);
    expect(r.limitedBy).toContain("policy:down");
  });

  it("limits scale-down by Pods and Percent per period", () => {
    const g = new Guards({
      maxWorkers: 50,
      scaleDown: {
        stabilizationWindowMs: 0,
        policies: [{ type: "Pods", value: 1, periodMs: 60 * S }],
      },
    });
    expect(g.apply(0, 10, rec(2)).desired).toBe(9);
    expect(g.apply(30 * S, 9, rec(2)).desired).toBe(9);
    expect(g.apply(61 * S, 9, rec(2)).desired).toBe(8);
    const pct = new Guards({
      maxWorkers: 50,
      scaleDown: {
        stabilizationWindowMs: 0,
        policies: [{ type: "Percent", value: 50, periodMs: 60 * S }],
      },
    });
    expect(pct.apply(0, 10, rec(1)).desired).toBe(5);
  });
});

describe("Guards: cooldown and bounds", () => {
  it("holds for cooldownMs after a change (the seed's cooldown)", () => {
    const g = new Guards({ maxWorkers: 20, cooldownMs: 30 * S });
    expect(g.apply(0, 2, rec(4)).desired).toBe(4);
    const held = g.apply(10 * S, 4, rec(8));
    expect(held.desired).toBe(4);
    expect(held.limitedBy).toContain("cooldown");
    expect(g.apply(31 * S, 4, rec(8)).desired).toBe(8);
  });

  it("clamps to min and max, even past the rate policies", () => {
    const g = new Guards({ minWorkers: 2, maxWorkers: 8 });
    const r = g.apply(0, 6, rec(100));
    expect(r.desired).toBe(8);
    expect(r.limitedBy).toContain("bounds");
    expect(new Guards({ minWorkers: 3, maxWorkers: 8 }).apply(0, 0, rec(0)).desired).toBe(3);
  });

  it("rejects inverted bounds and non-positive policies", () => {
    expect(() => new Guards({ minWorkers: 5, maxWorkers: 2 })).toThrow(RangeError);
    expect(
      () => new Guards({ scaleUp: { policies: [{ type: "Pods", value: 0, periodMs: 1 }] } }),
    ).toThrow(RangeError);
  });
});

describe("Guards: no flapping", () => {
  it("a recommendation alternating every 15 s between 3 and 10 only ever rises", () => {
    const g = new Guards({ minWorkers: 1, maxWorkers: 20 });
    let current = 3;
    const path = [current];
    for (let i = 0; i < 40; i++) {
      const next = g.apply(i * 15 * S, current, rec(i % 2 === 0 ? 10 : 3)).desired;
      if (next !== current) path.push(next);
      current = next;
    }
    // +4 (policy), then the rest: never back down while 10 stays in the 300 s window.
    expect(path).toEqual([3, 7, 10]);
  });
});
