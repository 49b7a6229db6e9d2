import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { job } from "./fixtures.js";
import { useAdapter } from "./helpers.js";

// The hot scripts batch their index updates and leave part of the record to the client
// (claim returns each hash as it was and the client applies the lease); these check that
// what the client builds is what Redis stores.
describe("hot path (add, claim, settle)", () => {
  const { adapter } = useAdapter("hot");

  it("returns claimed records equal to what getJob reads back", async () => {
    const queue = "claimed";
    const ids = [randomUUID(), "plain", randomUUID()];
    await adapter.enqueue(ids.map((id, i) => job(queue, id, { payload: { i }, priority: 5 })));
    const lease = { queue, workerId: "w1", leaseMs: 60_000, priorityRange: null };
    // A snoozed first claim gives its attempt back; a retried one keeps it.
    const first = await adapter.claim({ ...lease, limit: 2 });
    expect(
      await adapter.settle(queue, [
        {
          kind: "snooze",
          id: ids[0] as string,
          token: first.jobs[0]?.leaseToken ?? "",
          delayMs: 0,
        },
        {
          kind: "retry",
          id: ids[1] as string,
          token: first.jobs[1]?.leaseToken ?? "",
          delayMs: 0,
          error: { attempt: 1, name: "Error", message: "boom", at: 1 },
        },
      ]),
    ).toEqual(["ok", "ok"]);
    const { jobs } = await adapter.claim({ ...lease, limit: 10 });
    expect(jobs.map((j) => j.id)).toEqual([ids[2], ids[0], ids[1]]);
    expect(jobs.map((j) => j.attempts)).toEqual([1, 1, 2]);
    expect(new Set(jobs.map((j) => j.leaseToken)).size).toBe(3);
    for (const claimed of jobs) {
      expect(claimed.state).toBe("active");
      expect(claimed.workerId).toBe("w1");
      expect(claimed.leaseExpiresAt).toBe((claimed.startedAt ?? 0) + 60_000);
      expect(await adapter.getJob(queue, claimed.id)).toEqual(claimed);
    }
    expect(await adapter.counts(queue)).toMatchObject({ waiting: 0, active: 3 });
  });

  it("fences a settlement repeated within one batch", async () => {
    const queue = "repeat";
    const id = randomUUID();
    await adapter.enqueue([job(queue, id, { dedupKey: "k" })]);
    const { jobs } = await adapter.claim({
      queue,
      workerId: "w",
      limit: 1,
      leaseMs: 60_000,
      priorityRange: null,
    });
    const token = jobs[0]?.leaseToken ?? "";
    const done = { kind: "complete" as const, id, token, result: { ok: true } };
    expect(await adapter.settle(queue, [done, done])).toEqual(["ok", "lease_lost"]);
    const stored = await adapter.getJob(queue, id);
    expect(stored).toMatchObject({ state: "completed", result: { ok: true }, leaseToken: null });
    expect(await adapter.counts(queue)).toMatchObject({ active: 0, completed: 1 });
    // Completing freed the dedup key.
    const [again] = await adapter.enqueue([job(queue, randomUUID(), { dedupKey: "k" })]);
    expect(again?.created).toBe(true);
  });

  it("adds a batch with a repeated id and dedup key once each, in order", async () => {
    const queue = "batch";
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const results = await adapter.enqueue([
      job(queue, a),
      job(queue, b, { dedupKey: "d" }),
      job(queue, a),
      job(queue, c, { dedupKey: "d" }),
      job(queue, c, { delayMs: 60_000 }),
    ]);
    expect(results.map((r) => [r.job.id, r.created])).toEqual([
      [a, true],
      [b, true],
      [a, false],
      [b, false],
      [c, true],
    ]);
    expect(results[4]?.job.state).toBe("delayed");
    expect(await adapter.counts(queue)).toMatchObject({ waiting: 2, delayed: 1 });
    const page = await adapter.listJobs({ queue, state: "waiting", limit: 10 });
    expect(page.jobs.map((j) => j.id)).toEqual([a, b]);
    expect(await adapter.getJob(queue, a)).toEqual(results[0]?.job);
  });
});
