import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createJobMetrics, createLogger } from "@queueflow/app-kit";
import { loadWorkerConfig, startWorkers } from "@queueflow/app-worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEvents } from "./sse.js";
import {
  type JobResponse,
  KEYS,
  type Stack,
  type StoreKind,
  startStack,
  testStore,
  until,
} from "./stack.js";

/** A webhook receiver whose answer the test sets. */
async function webhook(): Promise<{
  url: string;
  status: { code: number; failNext: number; byTitle: Record<string, number> };
  received: unknown[];
  server: Server;
}> {
  // `failNext` answers 503 to that many requests first: a deterministic transient failure.
  // `byTitle` answers a notification by its title, whatever `code` says.
  const status = { code: 200, failNext: 0, byTitle: {} as Record<string, number> };
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const parsed = JSON.parse(body) as { title?: string };
      received.push(parsed);
      const byTitle = parsed.title === undefined ? undefined : status.byTitle[parsed.title];
      if (byTitle !== undefined) res.writeHead(byTitle).end();
      else if (status.failNext > 0) {
        status.failNext--;
        res.writeHead(503).end();
      } else res.writeHead(status.code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    status,
    received,
    server,
  };
}

describe.each<StoreKind>(["memory", "redis", "postgres"])("end to end on the %s store", (kind) => {
  let stack: Stack;
  let hook: Awaited<ReturnType<typeof webhook>>;
  const dataDir = mkdtempSync(join(tmpdir(), "qf-e2e-"));
  let n = 0;
  const freshId = () => `e2e-${kind}-${Date.now()}-${++n}`;

  beforeAll(async () => {
    hook = await webhook();
    const store = testStore(kind);
    stack = await startStack({
      store: store.config,
      drop: store.drop,
      env: { NOTIFY_WEBHOOK_URL: hook.url, DATA_DIR: dataDir },
    });
  });
  afterAll(async () => {
    await stack?.close();
    hook?.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const notify = (
    jobId: string,
    options: Record<string, unknown> = {},
    payload: Record<string, unknown> = {},
  ) =>
    stack.call<JobResponse>("/api/queues/notifications/jobs", {
      method: "POST",
      scope: "submit",
      json: {
        name: "notification.send",
        payload: { userId: "u1", title: "Paid", message: "Your payment went through", ...payload },
        options: { jobId, ...options },
      },
    });

  it("submits a job and watches it complete through the event stream", async () => {
    hook.status.code = 200;
    const id = freshId();
    const submitted = await notify(id);
    expect(submitted.status).toBe(201);
    expect(submitted.body.job.state).toMatch(/waiting|active|completed/);
    const events = await openEvents(stack.url, KEYS.read, `queue=notifications&job=${id}`);
    try {
      const done = await events.next(
        (e) =>
          e.type === "job:state" &&
          e.jobId === id &&
          (e.data as { state: string }).state === "completed",
        "job:state completed",
      );
      expect((done.data as { result: unknown }).result).toEqual({ status: 200 });
      await events.next(
        (e) => e.type === "queue:counts" && e.queue === "notifications",
        "queue:counts",
      );
    } finally {
      events.close();
    }
    expect(hook.received).toContainEqual(expect.objectContaining({ id, userId: "u1" }));
  });

  it("shows a job's attempts and error history", async () => {
    hook.status.code = 200;
    hook.status.failNext = 1;
    const id = freshId();
    await notify(id, { attempts: 3, backoff: { type: "fixed", delayMs: 0 } });
    const job = await until(async () => {
      const r = await stack.call<JobResponse>(`/api/queues/notifications/jobs/${id}`, {
        scope: "read",
      });
      return r.body.job.state === "completed" ? r.body.job : undefined;
    }, "completion");
    expect(job.attempts).toBe(2);
    expect(job.errors).toHaveLength(1);
    expect(job.errors[0]).toMatchObject({ attempt: 1, message: "Webhook answered HTTP 503" });
    expect(job.errors[0]).not.toHaveProperty("stack");
    expect(job).not.toHaveProperty("leaseToken");
  });

  it("retries a dead job", async () => {
    hook.status.code = 400; // a 4xx is final: the job goes straight to dead
    const id = freshId();
    await notify(id);
    const path = `/api/queues/notifications/jobs/${id}`;
    await until(
      async () => (await stack.call<JobResponse>(path)).body.job.state === "dead",
      "dead",
    );
    const dead = await stack.call<{ jobs: { id: string }[] }>(
      "/api/queues/notifications/jobs?state=dead",
      { scope: "read" },
    );
    expect(dead.body.jobs.map((j) => j.id)).toContain(id);

    hook.status.code = 200;
    const retried = await stack.call<{ retried: boolean }>(`${path}/retry`, { method: "POST" });
    expect(retried.status).toBe(200);
    const job = await until(async () => {
      const r = await stack.call<JobResponse>(path);
      return r.body.job.state === "completed" ? r.body.job : undefined;
    }, "completion after retry");
    expect(job.errors).toHaveLength(1);
    // A completed job cannot be retried: a conflict, not a silent no-op.
    const again = await stack.call(`${path}/retry`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("QF_INVALID_STATE");
  });

  it("dead letters: listed and counted by error class, replayed with a patch once per asOf, purged by filter", async () => {
    hook.status.code = 200;
    // A 4xx is final (class unrecoverable); a 503 on the last attempt is an unclassed failure.
    hook.status.byTitle = { refused: 400, flaky: 503 };
    const refused = freshId();
    const kept = freshId();
    const flaky = freshId();
    await notify(refused, {}, { title: "refused" });
    await notify(kept, {}, { title: "refused" });
    await notify(flaky, { attempts: 1 }, { title: "flaky" });
    const job = async (id: string) =>
      (await stack.call<JobResponse>(`/api/queues/notifications/jobs/${id}`)).body.job;
    await until(
      async () =>
        (await Promise.all([refused, kept, flaky].map(job))).every((j) => j.state === "dead"),
      "three dead letters",
    );

    type DeadList = {
      jobs: { id: string; errorClass: string; errors: { errorClass: string | null }[] }[];
      nextCursor: string | null;
    };
    const list = await stack.call<DeadList>(
      "/api/dead-letters?queue=notifications&errorClass=unrecoverable&name=notification.send&minAttempts=1&limit=1000",
      { scope: "read" },
    );
    expect(list.status).toBe(200);
    const ids = list.body.jobs.map((j) => j.id);
    expect(ids).toEqual(expect.arrayContaining([refused, kept]));
    expect(ids).not.toContain(flaky);
    const seen = list.body.jobs.find((j) => j.id === refused)!;
    expect(seen.errorClass).toBe("unrecoverable");
    expect(seen.errors.at(-1)?.errorClass).toBe("unrecoverable");
    const one = await stack.call<{ job: { errorClass: string } }>(
      `/api/dead-letters/notifications/${flaky}`,
      { scope: "read" },
    );
    expect(one.body.job.errorClass).toBe("unknown");

    // Pages of one, across the cursor: the same jobs.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/dead-letters?queue=notifications&errorClass=unrecoverable&name=notification.send&minAttempts=1&limit=1${cursor ? `&cursor=${cursor}` : ""}`;
      const page: { body: DeadList } = await stack.call<DeadList>(q, { scope: "read" });
      paged.push(...page.body.jobs.map((j) => j.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(ids);

    const stats = await stack.call<{
      total: number;
      byQueue: Record<string, number>;
      byErrorClass: Record<string, number>;
      byName: Record<string, number>;
    }>("/api/dead-letters/stats", { scope: "read" });
    expect(stats.status).toBe(200);
    expect(stats.body.byQueue.notifications).toBeGreaterThanOrEqual(3);
    expect(stats.body.byErrorClass.unrecoverable).toBeGreaterThanOrEqual(2);
    expect(stats.body.byErrorClass.unknown).toBeGreaterThanOrEqual(1);
    expect(stats.body.byName["notification.send"]).toBeGreaterThanOrEqual(3);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `^queueflow_dead_letters\\{queue="notifications"\\} ${stats.body.byQueue.notifications}$`,
        "m",
      ),
    );

    // Replay by filter while the gateway still refuses: each job runs once and dies again.
    type Replay = {
      asOf: number;
      counts: { replayed: number; skipped: number; failed: number };
      replayed: { queue: string; id: string }[];
      skipped: { id: string; reason: string }[];
    };
    const request = {
      filter: { queue: "notifications", name: "notification.send", errorClass: "unrecoverable" },
    };
    const first = await stack.call<Replay>("/api/dead-letters/replay", {
      method: "POST",
      json: request,
    });
    expect(first.status).toBe(200);
    expect(first.body.replayed.map((r) => r.id)).toEqual(expect.arrayContaining([refused, kept]));
    expect(typeof first.body.asOf).toBe("number");
    await until(
      async () =>
        (await Promise.all([refused, kept].map(job))).every(
          (j) => j.state === "dead" && j.errors.length === 2,
        ),
      "both to die again",
    );
    // The same request again with the asOf of the first answer (an HTTP retry): nothing runs.
    const retry = await stack.call<Replay>("/api/dead-letters/replay", {
      method: "POST",
      json: { ...request, asOf: first.body.asOf },
    });
    expect(retry.status).toBe(200);
    expect(retry.body.asOf).toBe(first.body.asOf);
    expect(retry.body.replayed).toEqual([]);
    expect((await job(refused)).errors).toHaveLength(2);

    // A patch its job type refuses: 422, the job stays dead as it was.
    const invalid = await stack.call(`/api/dead-letters/notifications/${refused}/replay`, {
      method: "POST",
      json: { patch: { title: "" } },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe("QF_INVALID_PAYLOAD");
    expect(await job(refused)).toMatchObject({ state: "dead", payload: { title: "refused" } });

    // One job, with a merge patch: it runs with the patched payload and completes.
    const patched = await stack.call<Replay>(`/api/dead-letters/notifications/${refused}/replay`, {
      method: "POST",
      json: { patch: { title: "fixed", type: "warning" } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.replayed).toEqual([{ queue: "notifications", id: refused }]);
    const done = await until(async () => {
      const j = await job(refused);
      return j.state === "completed" ? j : undefined;
    }, "the patched job to complete");
    expect(done.payload).toMatchObject({ title: "fixed", type: "warning", userId: "u1" });
    expect(hook.received).toContainEqual(
      expect.objectContaining({ id: refused, title: "fixed", type: "warning" }),
    );
    const again = await stack.call<Replay>(`/api/dead-letters/notifications/${refused}/replay`, {
      method: "POST",
      json: { patch: { title: "fixed" }, asOf: patched.body.asOf },
    });
    expect(again.status).toBe(200);
    expect(again.body.replayed).toEqual([]);
    expect(again.body.skipped).toEqual([
      { queue: "notifications", id: refused, reason: "not_dead" },
    ]);

    // Purge by filter: only the unclassed failure goes.
    const purged = await stack.call<{ deleted: number; byQueue: Record<string, number> }>(
      "/api/dead-letters/purge",
      { method: "POST", json: { filter: { queue: "notifications", errorClass: "unknown" } } },
    );
    expect(purged.status).toBe(200);
    expect(purged.body.deleted).toBeGreaterThanOrEqual(1);
    expect((await stack.call(`/api/queues/notifications/jobs/${flaky}`)).status).toBe(404);
    expect((await job(kept)).state).toBe("dead");
    expect((await job(refused)).state).toBe("completed");
    hook.status.byTitle = {};
  });

  it("manages queues: pause, resume, counts, clean, cancel, promote, remove", async () => {
    hook.status.code = 200;
    expect((await stack.call("/api/queues/notifications/pause", { method: "POST" })).status).toBe(
      200,
    );
    const held = freshId();
    await notify(held);
    const delayed = freshId();
    await notify(delayed, { delayMs: 3_600_000 });
    const q = await stack.call<{ paused: boolean; counts: Record<string, number> }>(
      "/api/queues/notifications",
      { scope: "read" },
    );
    expect(q.body.paused).toBe(true);
    expect(q.body.counts.waiting).toBeGreaterThanOrEqual(1);
    expect(q.body.counts.delayed).toBeGreaterThanOrEqual(1);

    const promote = await stack.call(`/api/queues/notifications/jobs/${delayed}/promote`, {
      method: "POST",
    });
    expect(promote.status).toBe(200);
    const cancel = await stack.call<{ state: string }>(
      `/api/queues/notifications/jobs/${delayed}/cancel`,
      { method: "POST" },
    );
    expect(cancel.body.state).toBe("cancelled");
    expect(
      (await stack.call(`/api/queues/notifications/jobs/${delayed}`, { method: "DELETE" })).status,
    ).toBe(200);
    expect((await stack.call(`/api/queues/notifications/jobs/${delayed}`)).status).toBe(404);

    expect((await stack.call("/api/queues/notifications/resume", { method: "POST" })).status).toBe(
      200,
    );
    await until(
      async () =>
        (await stack.call<JobResponse>(`/api/queues/notifications/jobs/${held}`)).body.job.state ===
        "completed",
      "the held job to run after resume",
    );
    const cleaned = await stack.call<{ removed: number }>("/api/queues/notifications/clean", {
      method: "POST",
      json: { state: "completed", olderThanMs: 0 },
    });
    expect(cleaned.status).toBe(200);
    expect(cleaned.body.removed).toBeGreaterThanOrEqual(1);
  });

  it("keeps schedules: create, list, delete", async () => {
    const put = await stack.call("/api/queues/maintenance/schedules/nightly-cleanup", {
      method: "PUT",
      json: {
        when: { cron: "0 3 * * *", timezone: "Europe/Paris" },
        job: { name: "cleanup.run", payload: {} },
      },
    });
    expect(put.status).toBe(201);
    const list = await stack.call<{ schedules: { id: string; nextRunAt: string }[] }>(
      "/api/queues/maintenance/schedules",
      {
        scope: "read",
      },
    );
    expect(list.body.schedules.map((s) => s.id)).toContain("nightly-cleanup");
    const del = await stack.call("/api/queues/maintenance/schedules/nightly-cleanup", {
      method: "DELETE",
    });
    expect(del.status).toBe(200);
    expect(
      (await stack.call("/api/queues/maintenance/schedules/nightly-cleanup", { method: "DELETE" }))
        .status,
    ).toBe(404);
  });

  it("loses nothing when the worker shuts down with jobs in flight", async () => {
    // Slow exports (a few hundred ms each), more than the workers run at once.
    const ids = Array.from({ length: 6 }, () => freshId());
    const batch = await stack.call<{ jobs: JobResponse[] }>("/api/queues/exports/jobs", {
      method: "POST",
      scope: "submit",
      json: {
        jobs: ids.map((jobId) => ({
          name: "data.export",
          payload: { userId: "u1", rows: 40_000 },
          options: { jobId },
        })),
      },
    });
    expect(batch.status).toBe(201);
    const runtime = stack.runtime!;
    await until(
      async () => runtime.status().some((w) => w.queue === "exports" && w.running > 0),
      "an export to start",
    );
    // A short deadline: what is still running is aborted and handed back, not failed or lost.
    await runtime.close(50);
    const states = await Promise.all(
      ids.map(
        async (id) => (await stack.call<JobResponse>(`/api/queues/exports/jobs/${id}`)).body.job,
      ),
    );
    expect(states.map((j) => j.state).filter((s) => s === "active")).toEqual([]);
    expect(states.every((j) => j.state === "waiting" || j.state === "completed")).toBe(true);
    expect(states.every((j) => j.errors.length === 0)).toBe(true);

    // A new worker takes over and finishes every one.
    const env = {
      LOG_LEVEL: "silent",
      DATA_DIR: dataDir,
      WORKER_QUEUES: "exports",
      WORKER_CONCURRENCY: "3",
    };
    const next = startWorkers({
      config: { ...loadWorkerConfig(env), store: { kind: "memory" } },
      adapter: stack.adapter,
      logger: createLogger("test", "silent"),
      metrics: createJobMetrics(),
    });
    try {
      await until(
        async () => {
          const jobs = await Promise.all(
            ids.map(
              async (id) =>
                (await stack.call<JobResponse>(`/api/queues/exports/jobs/${id}`)).body.job,
            ),
          );
          return jobs.every((j) => j.state === "completed");
        },
        "every export to complete",
        60_000,
      );
    } finally {
      await next.close(5_000);
    }
  });
});
