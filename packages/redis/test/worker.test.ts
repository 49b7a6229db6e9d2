import { Queue, Worker } from "@queueflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { waitUntil } from "./fixtures.js";
import { deletePrefix, redisUrl, testPrefix, withClient } from "./helpers.js";

type Jobs = {
  work: { payload: { n: number }; result: number };
  flaky: { payload: { failTimes: number }; result: string };
};

describe("core Queue and Worker on the Redis adapter", () => {
  const prefix = testPrefix("worker");
  afterAll(() => withClient((client) => deletePrefix(client, prefix)));

  it("runs every job exactly once across several workers, retrying failures", async () => {
    const adapter = new RedisAdapter({ url: redisUrl(), prefix });
    await adapter.connect();
    const queueName = "e2e";
    const queue = new Queue<Jobs>(queueName, { adapter });
    const runs = new Map<string, number>();
    const handlers = {
      work: async (job: { id: string; payload: { n: number } }) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        return job.payload.n * 2;
      },
      flaky: async (job: { attempt: number; payload: { failTimes: number } }) => {
        if (job.attempt <= job.payload.failTimes) throw new Error(`fail #${job.attempt}`);
        return "ok";
      },
    };
    const workers = Array.from(
      { length: 3 },
      (_, i) =>
        new Worker<Jobs>(queueName, handlers, {
          adapter,
          concurrency: 8,
          workerId: `w${i}`,
          leaseMs: 10_000,
        }),
    );
    try {
      const added = await queue.addBulk(
        Array.from({ length: 300 }, (_, n) => ({ name: "work" as const, payload: { n } })),
      );
      const flaky = await queue.add(
        "flaky",
        { failTimes: 2 },
        { attempts: 3, backoff: { type: "fixed", delayMs: 20 } },
      );
      await waitUntil(async () => {
        const c = await adapter.counts(queueName);
        return c.completed === 301;
      }, "all jobs to complete");

      expect(runs.size).toBe(300);
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      const sample = await queue.getJob(added[42]!.job.id);
      expect(sample?.result).toBe(84);
      const done = await queue.getJob(flaky.id);
      expect(done).toMatchObject({ state: "completed", attempts: 3, result: "ok" });
      expect(done?.errors.map((e) => e.message)).toEqual(["fail #1", "fail #2"]);
    } finally {
      await Promise.all(workers.map((w) => w.close(5_000)));
      await queue.close();
      await adapter.close();
    }
  });
});
