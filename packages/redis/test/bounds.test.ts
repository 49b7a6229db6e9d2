import { describe, expect, it } from "vitest";
import { job, waitUntil } from "./fixtures.js";
import { useAdapter } from "./helpers.js";

// Each script does bounded work per call (promotion of due jobs, filtered listing, clean);
// these check the answers stay exact when the work exceeds one call's bound.
describe("bounded work per call", () => {
  const { adapter } = useAdapter("bounds");

  it("counts every due delayed job as waiting, beyond one call's promotion bound", async () => {
    const queue = "many-due";
    const ids = Array.from({ length: 2_500 }, (_, i) => `j${i}`);
    // One due time for all, so they fall due together and one counts call sees all of them.
    const runAt = (await adapter.now()) + 300;
    await adapter.enqueue(ids.map((id) => job(queue, id, { runAt })));
    await waitUntil(async () => (await adapter.counts(queue)).waiting > 0, "jobs to fall due");
    const counts = await adapter.counts(queue);
    expect(counts.waiting + counts.delayed).toBe(2_500);
    expect(counts.waiting).toBe(2_500);

    // And every one of them is claimed exactly once, in insertion order.
    const claimed: string[] = [];
    for (;;) {
      const { jobs } = await adapter.claim({
        queue,
        workerId: "w",
        limit: 400,
        leaseMs: 60_000,
        priorityRange: null,
      });
      if (jobs.length === 0) break;
      claimed.push(...jobs.map((j) => j.id));
    }
    expect(claimed).toEqual(ids);
  });

  it("pages a filtered listing through far more non-matching jobs than one call examines", async () => {
    const queue = "sparse-filter";
    const jobs = Array.from({ length: 2_600 }, (_, i) =>
      job(queue, `j${i}`, { name: i % 1_000 === 7 ? "rare" : "common" }),
    );
    await adapter.enqueue(jobs);
    const found: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await adapter.listJobs({
        queue,
        state: "waiting",
        name: "rare",
        limit: 2,
        cursor,
      });
      found.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    expect(found).toEqual(["j7", "j1007", "j2007"]);
    expect(cursor).toBeNull();
  });

  it("cleans more jobs than one script call removes", async () => {
    const queue = "big-clean";
    await adapter.enqueue(Array.from({ length: 1_200 }, (_, i) => job(queue, `j${i}`)));
    for (;;) {
      const { jobs } = await adapter.claim({
        queue,
        workerId: "w",
        limit: 500,
        leaseMs: 60_000,
        priorityRange: null,
      });
      if (jobs.length === 0) break;
      await adapter.settle(
        queue,
        jobs.map((j) => ({
          kind: "complete" as const,
          id: j.id,
          token: j.leaseToken,
          result: null,
        })),
      );
    }
    const before = (await adapter.now()) + 1_000;
    expect(
      await adapter.clean({ queue, state: "completed", finishedBefore: before, limit: 1_100 }),
    ).toBe(1_100);
    expect(
      await adapter.clean({ queue, state: "completed", finishedBefore: before, limit: 1_100 }),
    ).toBe(100);
    expect((await adapter.counts(queue)).completed).toBe(0);
  });

  /** Kill every job of `queue`, the error class chosen per job id by `classOf`. */
  async function killAll(queue: string, classOf: (id: string) => string): Promise<void> {
    for (;;) {
      const { jobs } = await adapter.claim({
        queue,
        workerId: "w",
        limit: 500,
        leaseMs: 60_000,
        priorityRange: null,
      });
      if (jobs.length === 0) break;
      await adapter.settle(
        queue,
        jobs.map((j) => ({
          kind: "dead" as const,
          id: j.id,
          token: j.leaseToken,
          error: { attempt: 1, name: "Error", message: "x", at: 1, errorClass: classOf(j.id) },
        })),
      );
    }
  }

  it("purges by filter through far more non-matching dead jobs than one call examines", async () => {
    const queue = "sparse-purge";
    await adapter.enqueue(Array.from({ length: 2_600 }, (_, i) => job(queue, `j${i}`)));
    await killAll(queue, (id) => (["j10", "j2500"].includes(id) ? "validation" : "timeout"));
    const before = (await adapter.now()) + 1_000;
    const purge = () =>
      adapter.clean({
        queue,
        state: "dead",
        finishedBefore: before,
        errorClass: "validation",
        limit: 1,
      });
    expect([await purge(), await purge(), await purge()]).toEqual([1, 1, 0]);
    const stats = await adapter.deadLetterStats(queue);
    expect(stats.total).toBe(2_598);
    expect(stats.byErrorClass).toEqual({ timeout: 2_598 });
    expect(stats.byAge[0]?.count).toBe(2_598);
    const page = await adapter.listJobs({
      queue,
      state: "dead",
      errorClass: "timeout",
      finishedBefore: before,
      limit: 5,
    });
    expect(page.jobs.map((j) => j.id)).toEqual(["j0", "j1", "j2", "j3", "j4"]);
    // A window that starts after every finish is empty at once, without walking the index.
    expect(
      await adapter.listJobs({ queue, state: "dead", finishedAfter: before, limit: 5 }),
    ).toEqual({ jobs: [], nextCursor: null });
  });
});
