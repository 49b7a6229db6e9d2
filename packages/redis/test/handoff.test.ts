import type { ClaimRequest } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { job } from "./fixtures.js";
import { redisUrl, useAdapter } from "./helpers.js";

// lua/includes/handoff.lua: an add leases its job to a worker blocked in waitForJobs.
describe("handoff to a waiting worker", () => {
  const { adapter, prefix } = useAdapter("handoff");
  const request = (queue: string, workerId = "w1"): ClaimRequest => ({
    queue,
    workerId,
    limit: 5,
    leaseMs: 60_000,
    priorityRange: null,
  });
  const never = () => new AbortController().signal;
  /** Let a wait register and block before the next step. */
  const blocked = () => new Promise((resolve) => setTimeout(resolve, 150));

  it("leases a job added during the wait to the waiting worker, as a claim would", async () => {
    const queue = "handed";
    const waiting = adapter.waitForJobs(request(queue), 10_000, never());
    await blocked();
    const [added] = await adapter.enqueue([job(queue, "a", { payload: { n: 1 } })]);
    const [handed] = await waiting;
    expect(handed).toBeDefined();
    expect(handed!.id).toBe(added!.job.id);
    expect(handed!.payload).toEqual({ n: 1 });
    expect(handed!.attempts).toBe(1);
    expect(handed!.workerId).toBe("w1");
    expect(handed!.leaseExpiresAt - handed!.startedAt!).toBe(60_000);
    const { leaseToken, ...record } = handed!;
    expect(await adapter.getJob(queue, handed!.id)).toEqual({ ...record, leaseToken });
    expect(await adapter.counts(queue)).toMatchObject({ waiting: 0, active: 1 });
    expect(
      await adapter.settle(queue, [
        { kind: "complete", id: handed!.id, token: leaseToken, result: 1 },
      ]),
    ).toEqual(["ok"]);
  });

  /** A registration whose worker is gone without a word: its adapter closed mid-wait. */
  async function orphanedRegistration(queue: string, workerId = "w1"): Promise<void> {
    const gone = new RedisAdapter({ url: redisUrl(), prefix });
    await gone.connect();
    const waiting = gone.waitForJobs(request(queue, workerId), 10_000, never());
    await blocked();
    await gone.close();
    expect(await waiting).toEqual([]);
  }

  it("puts a job handed to a worker that is gone back in line for the next claim", async () => {
    const queue = "orphaned";
    await orphanedRegistration(queue);
    const [added] = await adapter.enqueue([job(queue, "a")]);
    expect((await adapter.getJob(queue, added!.job.id))!.state).toBe("active");

    const { jobs } = await adapter.claim(request(queue, "w2"));
    expect(jobs.map((j) => [j.id, j.workerId, j.attempts])).toEqual([[added!.job.id, "w2", 1]]);
    expect(await adapter.counts(queue)).toMatchObject({ waiting: 0, active: 1 });
    const settled = await adapter.settle(queue, [
      { kind: "complete", id: jobs[0]!.id, token: jobs[0]!.leaseToken, result: null },
    ]);
    expect(settled).toEqual(["ok"]);
    // Nothing is left to hand out twice.
    expect((await adapter.claim(request(queue, "w3"))).jobs).toEqual([]);
  });

  it("ends the registration of a worker that stops waiting: later adds stay in line", async () => {
    const queue = "stopped";
    const stop = new AbortController();
    const waiting = adapter.waitForJobs(request(queue), 10_000, stop.signal);
    await blocked();
    stop.abort();
    expect(await waiting).toEqual([]);
    const [added] = await adapter.enqueue([job(queue, "a")]);
    expect((await adapter.getJob(queue, added!.job.id))!.state).toBe("waiting");
  });

  it("hands nothing to a worker of a paused or capped queue: the job waits in line", async () => {
    for (const [queue, settings] of [
      ["paused-handoff", { paused: true }],
      ["capped-handoff", { concurrency: 0 }],
    ] as const) {
      await adapter.updateSettings(queue, settings);
      const waiting = adapter.waitForJobs(request(queue), 500, never());
      await blocked();
      const [added] = await adapter.enqueue([job(queue, "a")]);
      expect(await waiting).toEqual([]);
      expect((await adapter.getJob(queue, added!.job.id))!.state).toBe("waiting");
    }
  });

  it("ends a worker's registration when it claims, so later adds stay in line", async () => {
    const queue = "claimed-since";
    await orphanedRegistration(queue);
    expect((await adapter.claim(request(queue))).jobs).toEqual([]);
    const [added] = await adapter.enqueue([job(queue, "a")]);
    expect((await adapter.getJob(queue, added!.job.id))!.state).toBe("waiting");
  });
});
