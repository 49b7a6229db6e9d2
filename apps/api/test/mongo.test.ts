import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobResponse, type Stack, startStack, testStore, until } from "./stack.js";

/**
 * QUEUEFLOW_STORE=mongo: a smoke over real HTTP on MONGO_URL (the full suite runs on the
 * memory store, Redis and PostgreSQL): submit, complete, dead-letter list and stats.
 */
describe("end to end on the mongo store (smoke)", () => {
  let stack: Stack;
  let hook: Server;
  const received: { id: string; title: string }[] = [];

  beforeAll(async () => {
    if (!process.env.MONGO_URL) {
      throw new Error(
        'MONGO_URL is not set: this test runs the API against a real MongoDB. From the repository root run `eval "$(bash scripts/services.sh up)"` (scripts/test.sh does it), or set MONGO_URL.',
      );
    }
    // The notification gateway: refuses (400, final) notifications titled "refused".
    hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        const parsed = JSON.parse(body) as { id: string; title: string };
        received.push(parsed);
        res.writeHead(parsed.title === "refused" ? 400 : 200).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const store = testStore("mongo");
    stack = await startStack({
      store: store.config,
      drop: store.drop,
      env: {
        NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
        WORKER_QUEUES: "notifications",
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    hook?.close();
  });

  const notify = (title: string) =>
    stack.call<JobResponse>("/api/queues/notifications/jobs", {
      method: "POST",
      scope: "submit",
      json: { name: "notification.send", payload: { userId: "u1", title, message: "m" } },
    });
  const job = async (id: string) =>
    (await stack.call<JobResponse>(`/api/queues/notifications/jobs/${id}`, { scope: "read" })).body
      .job;

  it("submits a job, runs it to completion, and lists the one that died", async () => {
    // Readiness pings the store; /health names it (its status also weighs latency, which a
    // busy test machine makes noisy).
    expect((await stack.call("/health/ready", { scope: "none" })).status).toBe(200);
    const health = await stack.call<{ components: { store: { kind: string } } }>("/health", {
      scope: "none",
    });
    expect(health.body.components.store.kind).toBe("mongo");

    const ok = await notify("paid");
    const refused = await notify("refused");
    expect([ok.status, refused.status]).toEqual([201, 201]);
    const okId = ok.body.job.id;
    const refusedId = refused.body.job.id;

    const done = await until(async () => {
      const j = await job(okId);
      return j.state === "completed" ? j : undefined;
    }, "the job to complete");
    expect(done).toMatchObject({ attempts: 1, result: { status: 200 }, errors: [] });
    expect(received).toContainEqual(expect.objectContaining({ id: okId, title: "paid" }));

    const dead = await until(async () => {
      const j = await job(refusedId);
      return j.state === "dead" ? j : undefined;
    }, "the refused job to die");
    expect(dead.errors.at(-1)).toMatchObject({
      name: "UnrecoverableError",
      message: "Webhook refused the notification: HTTP 400",
    });

    const list = await stack.call<{
      jobs: { id: string; errorClass: string }[];
      nextCursor: string | null;
    }>("/api/dead-letters?queue=notifications&errorClass=unrecoverable", { scope: "read" });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      jobs: [expect.objectContaining({ id: refusedId, errorClass: "unrecoverable" })],
      nextCursor: null,
    });
    const stats = await stack.call<{ total: number; byQueue: Record<string, number> }>(
      "/api/dead-letters/stats",
      { scope: "read" },
    );
    expect(stats.body).toMatchObject({ total: 1, byQueue: { notifications: 1 } });
  });
});
