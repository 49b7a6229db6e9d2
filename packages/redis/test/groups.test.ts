import { describe, expect, it } from "vitest";
import { queueKeys } from "../src/keys.js";
import { job } from "./fixtures.js";
import { useAdapter, withClient } from "./helpers.js";

// The group structures (lua/includes/common.lua, turns.lua): a queue without groups never
// touches them, and groups found at a limit are set aside instead of being looked at again.
describe("groups in Redis", () => {
  const { prefix, adapter } = useAdapter("groups");
  const lease = { workerId: "w", leaseMs: 60_000, priorityRange: null };

  it("leaves a queue that never saw a group on the plain path: no group keys", async () => {
    const queue = "plain";
    await adapter.enqueue(Array.from({ length: 20 }, (_, i) => job(queue, `j${i}`)));
    const { jobs } = await adapter.claim({ queue, ...lease, limit: 10 });
    await adapter.settle(
      queue,
      jobs.map((j) => ({ kind: "complete" as const, id: j.id, token: j.leaseToken, result: null })),
    );
    const keys = queueKeys(prefix, queue);
    await withClient(async (client) => {
      expect(await client.hget(keys.settings, "grp")).toBeNull();
      expect(
        await client.exists(
          keys.gready,
          keys.gturns,
          keys.gactive,
          keys.gcapped,
          keys.grated,
          keys.gstarts,
        ),
      ).toBe(0);
    });
  });

  it("sets aside every group at its cap, so the next claim looks at none of them", async () => {
    const queue = "capped";
    const groups = 300;
    await adapter.updateSettings(queue, { groupConcurrency: 1 });
    await adapter.enqueue(
      Array.from({ length: groups * 3 }, (_, i) =>
        job(queue, `j${i}`, { group: `t${i % groups}` }),
      ),
    );
    const first = await adapter.claim({ queue, ...lease, limit: 1_000 });
    expect(first.jobs).toHaveLength(groups);
    expect(await adapter.claim({ queue, ...lease, limit: 1_000 })).toMatchObject({ jobs: [] });
    const keys = queueKeys(prefix, queue);
    await withClient(async (client) => {
      expect(await client.zcard(keys.gturns)).toBe(0);
      expect(await client.zcard(keys.gcapped)).toBe(groups);
    });
    // A settle frees its group's slot: that group, and only it, takes a turn again.
    const done = first.jobs[7];
    expect(done).toBeDefined();
    if (done === undefined) return;
    await adapter.settle(queue, [
      { kind: "complete", id: done.id, token: done.leaseToken, result: null },
    ]);
    const next = await adapter.claim({ queue, ...lease, limit: 1_000 });
    expect(next.jobs.map((j) => j.group)).toEqual([done.group]);
  });

  it("sweeps the rate-window starts of groups that went idle, a bounded slice per recovery", async () => {
    const queue = "swept";
    const groups = 300;
    await adapter.updateSettings(queue, { groupRateLimit: { max: 5, windowMs: 200 } });
    await adapter.enqueue(
      Array.from({ length: groups }, (_, i) => job(queue, `j${i}`, { group: `t${i}` })),
    );
    const { jobs } = await adapter.claim({ queue, ...lease, limit: 1_000 });
    expect(jobs).toHaveLength(groups);
    await adapter.settle(
      queue,
      jobs.map((j) => ({ kind: "complete" as const, id: j.id, token: j.leaseToken, result: null })),
    );
    const keys = queueKeys(prefix, queue);
    const starts = () => withClient((client) => client.zrange(keys.gstarts, 0, -1));
    expect(await starts()).toHaveLength(groups);
    // Past every window; then one more start, inside its window, which must stay.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await adapter.enqueue([job(queue, "fresh-job", { group: "fresh" })]);
    expect((await adapter.claim({ queue, ...lease, limit: 5 })).jobs).toHaveLength(1);
    await adapter.recoverStalled({ queue, maxStalls: 1, limit: 10 });
    expect((await starts()).length).toBeGreaterThan(1);
    await adapter.recoverStalled({ queue, maxStalls: 1, limit: 10 });
    const left = await starts();
    expect(left).toHaveLength(1);
    expect(left[0]?.startsWith("fresh\0")).toBe(true);
  });

  it("keeps a throttled key held after its job is cancelled, until the window ends", async () => {
    const queue = "throttle-cancel";
    const add = () =>
      adapter.enqueue([
        job(queue, `t${Math.random()}`, {
          dedupKey: "k",
          dedupMode: "throttle",
          dedupTtlMs: 60_000,
        }),
      ]);
    const [first] = await add();
    expect(first?.created).toBe(true);
    expect(await adapter.cancel(queue, first?.job.id ?? "")).toBe("cancelled");
    const [again] = await add();
    expect(again).toMatchObject({ created: false, job: { id: first?.job.id, state: "cancelled" } });
    // A live add is not held by a finished job.
    const [live] = await adapter.enqueue([job(queue, "live", { dedupKey: "k" })]);
    expect(live?.created).toBe(true);
  });

  it("debounces a grouped job within its group's line", async () => {
    const queue = "debounce-group";
    const add = (n: number) =>
      adapter.enqueue([
        job(queue, `d${n}`, {
          group: "g",
          dedupKey: "doc",
          dedupMode: "debounce",
          payload: { n },
        }),
      ]);
    await add(1);
    const [second] = await add(2);
    expect(second).toMatchObject({ created: false, job: { id: "d1", payload: { n: 2 } } });
    const { jobs } = await adapter.claim({ queue, ...lease, limit: 10 });
    expect(jobs.map((j) => [j.id, j.group, j.payload])).toEqual([["d1", "g", { n: 2 }]]);
  });
});
