import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMergePatch, DeadLetterGrowth } from "../src/dead-letters.js";
import type { HealthReport } from "../src/health.js";
import { patchProblem } from "../src/routes/dead-letters.js";
import {
  deadEmails,
  type JobResponse,
  type Stack,
  type StoreKind,
  startStack,
  testStore,
  until,
} from "./stack.js";

interface Replay {
  asOf: number;
  counts: { replayed: number; skipped: number; failed: number };
  replayed: { queue: string; id: string }[];
  skipped: { queue: string; id: string; reason: string }[];
  failed: { queue: string; id: string; reason: string; message: string }[];
  stoppedBy: string;
  nextCursor: string | null;
}

describe.each<StoreKind>([
  "memory",
  "redis",
  "postgres",
])("dead-letter routes on the %s store", (kind) => {
  let stack: Stack;
  beforeAll(async () => {
    const store = testStore(kind);
    stack = await startStack({
      store: store.config,
      drop: store.drop,
      workers: false,
      env: { HEALTH_DLQ_GROWTH_MAX: "2" },
    });
  });
  afterAll(() => stack.close());

  const state = async (id: string) => (await stack.adapter.getJob("emails", id))?.state;
  const purgeAll = () =>
    stack.call("/api/dead-letters/purge", {
      method: "POST",
      json: { filter: { queue: "emails" } },
    });

  it("lets a read key list and count, not replay or purge: 403 and nothing moves", async () => {
    const [id] = await deadEmails(stack, 1);
    for (const path of [
      "/api/dead-letters",
      "/api/dead-letters/stats",
      `/api/dead-letters/emails/${id}`,
    ]) {
      expect((await stack.call(path, { scope: "read" })).status, path).toBe(200);
      expect((await stack.call(path, { scope: "none" })).status, path).toBe(401);
    }
    for (const scope of ["read", "submit"] as const) {
      for (const [path, json] of [
        ["/api/dead-letters/replay", { filter: {} }],
        [`/api/dead-letters/emails/${id}/replay`, {}],
        ["/api/dead-letters/purge", { filter: {} }],
      ] as const) {
        const r = await stack.call(path, { method: "POST", scope, json });
        expect(r.status, `${scope} ${path}`).toBe(403);
        expect(r.body.error.code).toBe("FORBIDDEN");
      }
    }
    expect(await state(id!)).toBe("dead");
    expect((await purgeAll()).status).toBe(200);
  });

  it("replays in bounded calls, going on with nextCursor", async () => {
    const ids = await deadEmails(stack, 5);
    const first = await stack.call<Replay>("/api/dead-letters/replay", {
      method: "POST",
      json: { filter: { queue: "emails", name: "email.send" }, maxJobs: 2 },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ stoppedBy: "max_jobs", counts: { replayed: 2 } });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await stack.call<Replay>("/api/dead-letters/replay", {
      method: "POST",
      json: {
        filter: { queue: "emails", name: "email.send" },
        asOf: first.body.asOf,
        cursor: first.body.nextCursor,
      },
    });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ stoppedBy: "done", counts: { replayed: 3 } });
    const all = [...first.body.replayed, ...rest.body.replayed].map((r) => r.id).sort();
    expect(all).toEqual([...ids].sort());
    for (const id of ids) expect(await state(id)).toBe("waiting");
    // A cursor belongs to its filter.
    const other = await stack.call("/api/dead-letters/replay", {
      method: "POST",
      json: { filter: { queue: "emails" }, cursor: first.body.nextCursor },
    });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe("QF_INVALID_ARGUMENT");
    for (const id of ids) await stack.adapter.remove("emails", id);
  });

  it("leaves a job dead when its patched payload fails the job type's schema", async () => {
    const [id] = await deadEmails(stack, 1);
    const r = await stack.call<Replay>("/api/dead-letters/replay", {
      method: "POST",
      json: { filter: { queue: "emails" }, patch: { to: "not-an-email" } },
    });
    expect(r.status).toBe(200);
    expect(r.body.counts).toEqual({ replayed: 0, skipped: 0, failed: 1 });
    expect(r.body.failed[0]).toMatchObject({ id, reason: "invalid_payload" });
    expect(r.body.failed[0]?.message).toMatch(/^the patched payload does not fit email\.send: to /);
    const job = await stack.adapter.getJob("emails", id!);
    expect(job).toMatchObject({ state: "dead", payload: { to: "a@example.com" } });
    expect((await purgeAll()).status).toBe(200);
  });

  it("purges only what the filter matches", async () => {
    const older = await deadEmails(stack, 2, "older");
    const between = (await stack.adapter.now()) + 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = await deadEmails(stack, 2, "newer");
    const r = await stack.call<{ deleted: number; byQueue: Record<string, number> }>(
      "/api/dead-letters/purge",
      {
        method: "POST",
        json: { filter: { queue: ["emails"], failedBefore: new Date(between).toISOString() } },
      },
    );
    expect(r.status).toBe(200);
    expect(r.body.deleted).toBe(2);
    expect(r.body.byQueue.emails).toBe(2);
    for (const id of older) expect(await state(id)).toBeUndefined();
    for (const id of newer) expect(await state(id)).toBe("dead");
    // Another name matches nothing.
    const none = await stack.call<{ deleted: number }>("/api/dead-letters/purge", {
      method: "POST",
      json: { filter: { name: "cleanup.run" } },
    });
    expect(none.body.deleted).toBe(0);
    for (const id of newer) expect(await state(id)).toBe("dead");
    expect((await purgeAll()).status).toBe(200);
  });

  it("turns health degraded when dead letters grow past HEALTH_DLQ_GROWTH_MAX", async () => {
    const health = async () => (await stack.call<HealthReport>("/health", { scope: "none" })).body;
    const before = await health();
    expect(before.components.deadLetters).toMatchObject({ status: "healthy", growthMax: 2 });
    await deadEmails(stack, 3);
    const after = await health();
    expect(after.status).toBe("degraded");
    expect(after.components.deadLetters).toMatchObject({
      status: "degraded",
      total: (before.components.deadLetters?.total ?? 0) + 3,
      growth: 3,
    });
    expect(after.components.deadLetters?.message).toMatch(/grew by 3/);
    // Purged: growth is measured from the lowest total in the window, which is now.
    expect((await purgeAll()).status).toBe(200);
    expect((await health()).components.deadLetters).toMatchObject({ status: "healthy", growth: 0 });
  });

  it("answers 404s with stable codes for jobs that are not dead letters", async () => {
    const sent = await stack.call<JobResponse>("/api/queues/emails/jobs", {
      method: "POST",
      json: { name: "email.send", payload: { to: "a@example.com", subject: "alive" } },
    });
    const id = sent.body.job.id;
    const get = await stack.call(`/api/dead-letters/emails/${id}`, { scope: "read" });
    expect(get.status).toBe(404);
    expect(get.body.error.code).toBe("DEAD_LETTER_NOT_FOUND");
    const missing = await stack.call("/api/dead-letters/emails/no-such-job/replay", {
      method: "POST",
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("QF_JOB_NOT_FOUND");
    // A live job is not replayed: reported, not moved.
    const live = await stack.call<Replay>(`/api/dead-letters/emails/${id}/replay`, {
      method: "POST",
      json: {},
    });
    expect(live.status).toBe(200);
    expect(live.body.skipped).toEqual([{ queue: "emails", id, reason: "not_dead" }]);
    expect(await state(id)).toBe("waiting");
    await stack.adapter.remove("emails", id);
  });
});

describe("dead-letter alerts", () => {
  it("POSTs a firing event to DLQ_ALERT_WEBHOOK_URL when the total reaches DLQ_ALERT_COUNT", async () => {
    const received: { rule: string; status: string; total: number }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dlq`;
    const stack = await startStack({
      store: testStore("memory").config,
      workers: false,
      env: { DLQ_ALERT_WEBHOOK_URL: url, DLQ_ALERT_COUNT: "2", DLQ_ALERT_INTERVAL_MS: "100" },
    });
    try {
      await deadEmails(stack, 2);
      const event = await until(
        () => received.find((e) => e.rule === "count" && e.status === "firing"),
        "a firing count alert",
      );
      expect(event.total).toBe(2);
    } finally {
      await stack.close();
      server.close();
    }
  });
});

describe("merge patches", () => {
  it("applies RFC 7396: null deletes, objects merge, the rest replaces", () => {
    expect(
      applyMergePatch(
        { a: 1, b: { c: 2, d: 3 }, e: [1, 2], f: "x" },
        { a: null, b: { c: null, g: 4 }, e: [3], f: { h: 1 } },
      ),
    ).toEqual({ b: { d: 3, g: 4 }, e: [3], f: { h: 1 } });
    const target = { a: { b: 1 } };
    applyMergePatch(target, { a: { b: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });

  it("refuses prototype keys, operator-shaped keys, deep nesting and size", () => {
    expect(patchProblem({ title: "x", nested: { ok: [1, { fine: true }] } }, 1_000)).toBeNull();
    expect(patchProblem(JSON.parse('{"__proto__": {"x": 1}}'), 1_000)).toMatch(/__proto__/);
    expect(patchProblem({ a: { constructor: { prototype: {} } } }, 1_000)).toMatch(/constructor/);
    expect(patchProblem({ $set: { admin: true } }, 1_000)).toMatch(/\$set/);
    expect(patchProblem({ "a.b": 1 }, 1_000)).toMatch(/a\.b/);
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(patchProblem(deep, 1_000_000)).toMatch(/deeper than/);
    expect(patchProblem({ t: "x".repeat(100) }, 50)).toMatch(/over 50/);
  });

  it("measures growth from the lowest total within the window", () => {
    const g = new DeadLetterGrowth(1_000);
    expect(g.record(10, 0)).toBe(0);
    expect(g.record(14, 100)).toBe(4);
    expect(g.record(2, 200)).toBe(0);
    expect(g.record(5, 300)).toBe(3);
    expect(g.record(5, 5_000)).toBe(0);
  });
});
