import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "../src/config.js";

describe("worker config: retention", () => {
  it("keeps finished jobs unless an age is given", () => {
    expect(loadWorkerConfig({}).retention).toEqual({});
  });

  it("deletes finished jobs past the ages given", () => {
    const config = loadWorkerConfig({
      RETENTION_COMPLETED_MS: "86400000",
      RETENTION_DEAD_MS: "604800000",
    });
    expect(config.retention).toEqual({ completedMs: 86_400_000, deadMs: 604_800_000 });
  });

  it("refuses an age below one second", () => {
    expect(() => loadWorkerConfig({ RETENTION_COMPLETED_MS: "0" })).toThrow(/at least 1000/);
  });
});
