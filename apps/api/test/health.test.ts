import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthReport } from "../src/health.js";
import { freePort, OwnRedis } from "./own-redis.js";
import { type Stack, startStack, testStore, until } from "./stack.js";

describe("health follows the store", () => {
  let redis: OwnRedis;
  let stack: Stack;
  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    stack = await startStack({ store: testStore("redis", redis.url).config });
  });
  afterAll(async () => {
    await redis.start().catch(() => {}); // let the workers' close reach the store
    await stack?.close();
    await redis?.destroy();
  });

  const health = () => stack.call<HealthReport>("/health", { scope: "none" });

  it("is healthy, unhealthy while Redis is stopped, and healthy again when it returns", async () => {
    const up = await health();
    expect(up.status).toBe(200);
    expect(up.body.status).toBe("healthy");
    expect(up.body.components.store).toMatchObject({ status: "healthy", kind: "redis" });
    expect(up.body.components.store.latencyMs).toBeGreaterThanOrEqual(0);
    expect(up.body.components.workers.local.length).toBeGreaterThan(0);

    await redis.stop();
    const down = await until(async () => {
      const r = await health();
      return r.body.status === "unhealthy" ? r : undefined;
    }, "unhealthy");
    expect(down.status).toBe(503);
    expect(down.body.components.store.status).toBe("unhealthy");
    expect(down.body.components.store.latencyMs).toBeNull();
    expect((await stack.call("/health/ready", { scope: "none" })).status).toBe(503);
    expect((await stack.call("/health/live", { scope: "none" })).status).toBe(200);
    // An API call that needs the store says so, with a code.
    const call = await stack.call("/api/queues/emails", { scope: "read" });
    expect(call.status).toBe(503);
    expect(call.body.error.code).toBe("QF_STORE_UNAVAILABLE");

    await redis.start();
    const back = await until(
      async () => {
        const r = await health();
        return r.body.status === "healthy" ? r : undefined;
      },
      "healthy again",
      30_000,
    );
    expect(back.status).toBe(200);
    expect((await stack.call("/health/ready", { scope: "none" })).status).toBe(200);
  });
});

describe("health without workers", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      store: testStore("memory").config,
      workers: false,
      env: { HEALTH_STALE_WAIT_MS: "1000" },
    });
  });
  afterAll(() => stack.close());

  it("turns degraded when due jobs wait past the threshold and nothing takes them", async () => {
    expect((await stack.call<HealthReport>("/health", { scope: "none" })).body.status).toBe(
      "healthy",
    );
    // Due a minute ago: past the 1 s threshold at once, no sleeping needed.
    await stack.call("/api/queues/emails/jobs", {
      method: "POST",
      json: {
        name: "email.send",
        payload: { to: "a@example.com", subject: "x" },
        options: { runAt: new Date(Date.now() - 60_000).toISOString() },
      },
    });
    const r = await stack.call<HealthReport>("/health", { scope: "none" });
    expect(r.status).toBe(200); // degraded stays in rotation
    expect(r.body.status).toBe("degraded");
    expect(r.body.components.workers.stalledQueues).toEqual([
      { queue: "emails", oldestWaitMs: expect.any(Number) },
    ]);
    // Paused on purpose is not a fault.
    await stack.call("/api/queues/emails/pause", { method: "POST" });
    expect((await stack.call<HealthReport>("/health", { scope: "none" })).body.status).toBe(
      "healthy",
    );
  });
});
