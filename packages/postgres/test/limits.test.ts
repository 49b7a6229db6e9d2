import { newJob, uniqueQueue } from "@queueflow/adapter-tests";
import { describe, expect, it } from "vitest";
import { claimFrom, separatePools } from "./database.js";

// The conformance suite races claimers on one pool; here each claimer group has its own
// pool (as separate hosts would), so nothing in the process can serialise them.
const { adapters } = separatePools("limits");

describe("queue limits across pools", () => {
  it("never exceeds the concurrency cap when many pools claim at once", async () => {
    const queue = uniqueQueue("cap-pools");
    await adapters[0]!.enqueue(Array.from({ length: 60 }, () => newJob(queue)));
    await adapters[0]!.updateSettings(queue, { concurrency: 4 });
    const claimed = (
      await Promise.all(
        adapters.flatMap((a, i) =>
          Array.from({ length: 8 }, (_, k) => claimFrom(a, queue, `w${i}-${k}`)),
        ),
      )
    ).flat();
    expect(claimed.length).toBe(4);
    expect((await adapters[1]!.counts(queue)).active).toBe(4);
  });

  it("never starts more than the rate limit in a window when many pools claim at once", async () => {
    const queue = uniqueQueue("rate-pools");
    await adapters[0]!.enqueue(Array.from({ length: 60 }, () => newJob(queue)));
    await adapters[0]!.updateSettings(queue, { rateLimit: { max: 7, windowMs: 60_000 } });
    const claimed = (
      await Promise.all(
        adapters.flatMap((a, i) =>
          Array.from({ length: 8 }, (_, k) => claimFrom(a, queue, `w${i}-${k}`)),
        ),
      )
    ).flat();
    expect(claimed.length).toBe(7);
    expect(new Set(claimed.map((j) => j.id)).size).toBe(7);
    const next = await adapters[2]!.claim({
      queue,
      workerId: "late",
      limit: 1,
      leaseMs: 30_000,
      priorityRange: null,
    });
    expect(next.jobs).toEqual([]);
    // The window is full: the claim says when its oldest start leaves it.
    expect(next.nextWakeAt).toBeGreaterThan(Math.min(...claimed.map((j) => j.startedAt!)));
  });
});
