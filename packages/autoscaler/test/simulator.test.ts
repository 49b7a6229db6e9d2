import { describe, expect, it } from "vitest";
import {
  aggressive,
  formatTable,
  generateJobs,
  mulberry32,
  renderSvg,
  runScenario,
  SCENARIOS,
  SIMULATION_GUARDS,
  simulate,
  slo,
  thresholds,
} from "../src/index.js";

describe("simulator", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const config = {
      seed: 7,
      ...SCENARIOS.spike,
      durationMs: 15 * 60_000,
      strategy: thresholds(),
      guards: SIMULATION_GUARDS,
    };
    const a = simulate(config);
    const b = simulate({ ...config, strategy: thresholds() });
    expect(b).toEqual(a);
    const c = simulate({ ...config, seed: 8, strategy: thresholds() });
    expect(c.jobs).not.toBe(a.jobs);
  });

  it("generates Poisson arrivals at the shape's rate", () => {
    const jobs = generateJobs(
      { kind: "steady", rate: 20 },
      { kind: "exponential", meanMs: 500 },
      600_000,
      mulberry32(1),
      mulberry32(2),
    );
    expect(jobs.length).toBeGreaterThan(11_400);
    expect(jobs.length).toBeLessThan(12_600);
    const mean = jobs.reduce((s, j) => s + j.serviceMs, 0) / jobs.length;
    expect(mean).toBeGreaterThan(480);
    expect(mean).toBeLessThan(520);
  });

  it("on the spike, slo holds p95 wait under its target with fewer worker-seconds than aggressive", () => {
    const spike = SCENARIOS.spike;
    const [sloResult, aggressiveResult] = runScenario(spike, 42, [
      slo({ targetWaitMs: spike.sloWaitMs }),
      aggressive(),
    ]);
    expect(sloResult!.p95WaitMs).toBeLessThan(spike.sloWaitMs);
    expect(sloResult!.workerSeconds).toBeLessThan(aggressiveResult!.workerSeconds);
  });

  it("reports a table row per strategy and an SVG panel per strategy", () => {
    const results = runScenario({ ...SCENARIOS.steady, durationMs: 5 * 60_000 }, 1);
    const table = formatTable(results);
    expect(table.split("\n")).toHaveLength(2 + results.length);
    expect(table).toMatch(/\| slo \|/);
    const svg = renderSvg("steady", results);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2 * results.length);
  });
});
