import { freePort } from "@queueflow/adapter-tests";
import { Queue, Worker } from "@queueflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { waitUntil } from "./fixtures.js";
import { OwnRedis } from "./own-redis.js";

type Jobs = { work: { payload: { n: number }; result: number } };

describe("a Redis restart under a running worker", () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
  });
  afterAll(() => redis.destroy());

  it("completes every job: the worker backs off while Redis is down and resumes", async () => {
    const adapter = new RedisAdapter({ url: redis.url });
    await adapter.connect();
    const queueName = "restart";
    const queue = new Queue<Jobs>(queueName, { adapter });
    const total = 300;
    let handled = 0;
    let lastStart = 0;
    const worker = new Worker<Jobs>(
      queueName,
      {
        work: async (job) => {
          handled++;
          lastStart = performance.now();
          // Slow enough that the restart lands mid-run.
          await new Promise((resolve) => setTimeout(resolve, 5));
          return job.payload.n;
        },
      },
      // A settle lost to the outage leaves its job active; a short lease and a frequent
      // stall check bring it back soon.
      { adapter, concurrency: 5, leaseMs: 1_500, stalledIntervalMs: 200, maxStalls: 10 },
    );
    const errors: unknown[] = [];
    worker.on("error", (err) => errors.push(err));
    try {
      await queue.addBulk(
        Array.from({ length: total }, (_, n) => ({ name: "work" as const, payload: { n } })),
      );
      await waitUntil(() => handled >= 30, "the worker to get going");
      await redis.stop();
      await waitUntil(() => errors.length > 0, "the worker to notice the outage");
      // Down long enough for a growing reconnect delay to pass a second.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await redis.start();
      const back = performance.now();
      await waitUntil(() => lastStart > back, "the worker to start a job after the restart");
      expect(lastStart - back).toBeLessThan(1_000);

      await waitUntil(
        async () => {
          try {
            return (await adapter.counts(queueName)).completed === total;
          } catch {
            return false;
          }
        },
        "every job to complete after the restart",
        60_000,
      );
      expect(handled).toBeGreaterThanOrEqual(total);
      expect(errors.some((e) => (e as { code?: string }).code === "QF_STORE_UNAVAILABLE")).toBe(
        true,
      );
    } finally {
      await worker.close(5_000);
      await queue.close();
      await adapter.close();
    }
  }, 120_000);
});
