import { describe, expect, it, vi } from "vitest";
import { classifyError, DeadLetters } from "../src/index.js";
import { Clock, DAY, type DeadSpec, HOUR, killMany, memory } from "./helpers.js";

const QUEUES = ["emails", "billing", "exports"];
const NAMES = ["send", "charge", "render"];
const CLASSES = ["timeout", "connection", "validation", "rate_limited", undefined];
const ERRORS = ["TimeoutError", "FetchError", "ZodError"];
// Deaths at these offsets from the start; the stats are read at START + 40 days.
const WAVES = [0, 30 * DAY, 38 * DAY, 40 * DAY - 2 * HOUR, 40 * DAY - 10 * 60_000];

describe("stats", () => {
  it("sums store-side stats exactly over thousands of dead jobs across queues", async () => {
    const clock = new Clock();
    const start = clock.t;
    const adapter = await memory(clock);
    const expected = {
      total: 0,
      byQueue: {} as Record<string, number>,
      byName: {} as Record<string, number>,
      byErrorClass: {} as Record<string, number>,
      byErrorName: {} as Record<string, number>,
      byAge: [0, 0, 0, 0, 0],
    };
    const tally = (t: Record<string, number>, k: string) => {
      t[k] = (t[k] ?? 0) + 1;
    };
    let n = 0;
    for (const [wave, offset] of WAVES.entries()) {
      clock.t = start + offset;
      for (const [qi, queue] of QUEUES.entries()) {
        // Different sizes per queue and wave, so a swapped or dropped queue shows.
        const count = 200 + 37 * qi + 11 * wave;
        const batch: DeadSpec[] = [];
        for (let i = 0; i < count; i++, n++) {
          const spec = {
            id: `j${n}`,
            name: NAMES[(n + qi) % NAMES.length]!,
            errorName: ERRORS[n % ERRORS.length]!,
            errorClass: CLASSES[n % CLASSES.length],
          };
          batch.push(spec);
          expected.total++;
          tally(expected.byQueue, queue);
          tally(expected.byName, spec.name);
          tally(expected.byErrorClass, spec.errorClass ?? "unknown");
          tally(expected.byErrorName, spec.errorName);
          // Wave 0 is 40 days old (past the last bound), wave 1 10 days, ... wave 4 10 min.
          expected.byAge[4 - wave]!++;
        }
        await killMany(adapter, queue, batch);
      }
    }
    expect(expected.total).toBeGreaterThan(3000);
    clock.t = start + 40 * DAY;

    const dlq = new DeadLetters({ adapter, queues: QUEUES });
    const listJobs = vi.spyOn(adapter, "listJobs");
    const getJob = vi.spyOn(adapter, "getJob");
    const stats = await dlq.stats();

    expect(listJobs).not.toHaveBeenCalled();
    expect(getJob).not.toHaveBeenCalled();
    expect(stats.at).toBe(clock.t);
    expect(stats.total).toBe(expected.total);
    expect(stats.byQueue).toEqual(expected.byQueue);
    expect(stats.byName).toEqual(expected.byName);
    expect(stats.byErrorClass).toEqual(expected.byErrorClass);
    expect(stats.byErrorName).toEqual(expected.byErrorName);
    expect(stats.oldestFinishedAt).toBe(start);
    expect(stats.newestFinishedAt).toBe(start + WAVES[4]!);
    expect(stats.byAge).toEqual([
      { maxAgeMs: HOUR, count: expected.byAge[0] },
      { maxAgeMs: DAY, count: expected.byAge[1] },
      { maxAgeMs: 7 * DAY, count: expected.byAge[2] },
      { maxAgeMs: 30 * DAY, count: expected.byAge[3] },
      { maxAgeMs: null, count: expected.byAge[4] },
    ]);
    expect(Object.keys(stats.queues)).toEqual(QUEUES);
    expect(stats.queues.billing?.total).toBe(expected.byQueue.billing);
  });

  it("reports an empty set of queues as zeros", async () => {
    const dlq = new DeadLetters({ adapter: await memory(), queues: ["a", "b"] });
    const stats = await dlq.stats();
    expect(stats).toMatchObject({
      total: 0,
      byQueue: { a: 0, b: 0 },
      byErrorClass: {},
      oldestFinishedAt: null,
      newestFinishedAt: null,
    });
    expect(stats.byAge.map((b) => b.count)).toEqual([0, 0, 0, 0, 0]);
  });

  it("re-exports core's classifier", () => {
    const refused = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    expect(classifyError(refused)).toBe("connection");
    expect(classifyError(Object.assign(new Error("slow"), { name: "TimeoutError" }))).toBe(
      "timeout",
    );
  });
});
