import { QUEUE_NAMES } from "@queueflow/app-kit";
import type { JobCounts } from "@queueflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, type StoreKind, startStack, testStore } from "./stack.js";

const email = { name: "email.send", payload: { to: "a@example.com", subject: "Hi" } };

/** Each: a request and the 4xx it must get. */
const cases: {
  what: string;
  method: string;
  path: string;
  body?: string;
  type?: string;
  status: number;
  /** The error code it must carry, where the case is about which one. */
  code?: string;
}[] = [
  {
    what: "malformed JSON",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: '{"name": "email.send",',
    status: 400,
  },
  {
    what: "JSON that is a string",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: '"hello"',
    status: 400,
  },
  {
    what: "empty JSON body",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: "",
    status: 400,
  },
  {
    what: "form body",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: "name=email.send",
    type: "application/x-www-form-urlencoded",
    status: 415,
  },
  {
    what: "oversized body",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, payload: { ...email.payload, text: "x".repeat(70_000) } }),
    status: 413,
  },
  {
    what: "__proto__ pollution",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: '{"name":"email.send","payload":{"to":"a@example.com","subject":"x","__proto__":{"admin":true}}}',
    status: 400,
  },
  {
    what: "constructor.prototype pollution",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: '{"name":"email.send","payload":{"constructor":{"prototype":{"x":1}}}}',
    status: 400,
  },
  {
    what: "unknown top-level field",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, extra: 1 }),
    status: 400,
  },
  {
    what: "Mongo operator as a payload field",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ name: "email.send", payload: { to: { $gt: "" }, subject: "x" } }),
    status: 422,
  },
  {
    what: "Mongo operator as an extra payload key",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({
      name: "email.send",
      payload: { to: "a@example.com", subject: "x", $where: "1" },
    }),
    status: 422,
  },
  {
    what: "Mongo operator as the job name",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ name: { $ne: null }, payload: {} }),
    status: 400,
  },
  {
    what: "SQL in the job name",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ name: "email.send'; drop table jobs; --", payload: email.payload }),
    status: 400,
  },
  {
    what: "SQL in a caller job id",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, options: { jobId: "1' or '1'='1" } }),
    status: 400,
  },
  {
    what: "colon in a caller job id",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, options: { jobId: "sched:nightly:1" } }),
    status: 400,
  },
  {
    what: "braces in a dedup key",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, options: { dedupKey: "{emails}:x" } }),
    status: 400,
  },
  {
    what: "job type of another queue",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ name: "data.export", payload: { userId: "u1" } }),
    status: 400,
  },
  {
    what: "unknown job type",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ name: "email.explode", payload: {} }),
    status: 400,
  },
  {
    what: "invalid email address",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ name: "email.send", payload: { to: "not-an-email", subject: "x" } }),
    status: 422,
  },
  {
    what: "priority out of range",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, options: { priority: 99 } }),
    status: 400,
  },
  {
    what: "negative delay",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, options: { delayMs: -5 } }),
    status: 400,
  },
  {
    what: "runAt not a date",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, options: { runAt: "tomorrow" } }),
    status: 400,
  },
  {
    what: "batch over 100 jobs",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ jobs: Array.from({ length: 101 }, () => email) }),
    status: 400,
  },
  {
    what: "batch with one bad job stores none",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ jobs: [email, { name: "email.send", payload: { to: "x" } }] }),
    status: 422,
  },
  {
    what: "path traversal in a thumbnail file",
    method: "POST",
    path: "/api/queues/files/jobs",
    body: JSON.stringify({ name: "file.thumbnail", payload: { file: "../../etc/passwd" } }),
    status: 422,
  },
  {
    what: "another host in a cache path",
    method: "POST",
    path: "/api/queues/maintenance/jobs",
    body: JSON.stringify({ name: "cache.warm", payload: { paths: ["http://evil.example/"] } }),
    status: 422,
  },
  {
    what: "Redis key separator in the queue",
    method: "POST",
    path: "/api/queues/emails:waiting/jobs",
    body: JSON.stringify(email),
    status: 400,
  },
  {
    what: "hash-tag braces in the queue",
    method: "POST",
    path: "/api/queues/%7Bemails%7D/jobs",
    body: JSON.stringify(email),
    status: 400,
  },
  {
    what: "SQL in the queue",
    method: "GET",
    path: "/api/queues/emails'%20or%201=1--/jobs",
    status: 400,
  },
  {
    what: "unknown queue",
    method: "POST",
    path: "/api/queues/payments/jobs",
    body: JSON.stringify(email),
    status: 404,
  },
  {
    what: "braces in a job id",
    method: "GET",
    path: "/api/queues/emails/jobs/%7Bx%7D",
    status: 400,
  },
  {
    what: "SQL in a job id",
    method: "DELETE",
    path: "/api/queues/emails/jobs/1'%3Bdelete%20from%20jobs",
    status: 400,
  },
  {
    what: "Redis key in a job id (remove)",
    method: "DELETE",
    path: "/api/queues/emails/jobs/qf:%7Bemails%7D:jobs",
    status: 400,
  },
  {
    what: "colon id that does not exist (cancel)",
    method: "POST",
    path: "/api/queues/emails/jobs/emails:waiting/cancel",
    status: 404,
  },
  {
    what: "colon id that does not exist (retry)",
    method: "POST",
    path: "/api/queues/emails/jobs/x:y:z/retry",
    status: 404,
  },
  {
    what: "overlong job id",
    method: "GET",
    path: `/api/queues/emails/jobs/${"a".repeat(129)}`,
    status: 400,
  },
  {
    what: "state not a state",
    method: "GET",
    path: "/api/queues/emails/jobs?state=all",
    status: 400,
  },
  {
    what: "Mongo operator in the query",
    method: "GET",
    path: "/api/queues/emails/jobs?state[$ne]=x",
    status: 400,
  },
  {
    what: "limit too large",
    method: "GET",
    path: "/api/queues/emails/jobs?limit=100000",
    status: 400,
  },
  {
    what: "cursor with SQL",
    method: "GET",
    path: "/api/queues/emails/jobs?cursor=1%20or%201=1",
    status: 400,
  },
  {
    what: "unknown query parameter",
    method: "GET",
    path: "/api/queues/emails/jobs?where=1",
    status: 400,
  },
  {
    what: "clean a live state",
    method: "POST",
    path: "/api/queues/emails/clean",
    body: JSON.stringify({ state: "waiting", olderThanMs: 0 }),
    status: 400,
  },
  {
    what: "clean without an age",
    method: "POST",
    path: "/api/queues/emails/clean",
    body: JSON.stringify({ state: "completed" }),
    status: 400,
  },
  {
    what: "schedule with a bad cron",
    method: "PUT",
    path: "/api/queues/maintenance/schedules/s1",
    body: JSON.stringify({
      when: { cron: "every day; rm -rf" },
      job: { name: "cleanup.run", payload: {} },
    }),
    status: 400,
  },
  ...["Mars/Olympus", "Foo", "Etc/GMT+99", "Europe/Paris_X"].map((timezone) => ({
    what: `schedule in the unknown time zone ${timezone}`,
    method: "PUT",
    path: "/api/queues/maintenance/schedules/s1",
    body: JSON.stringify({
      when: { cron: "0 2 * * *", timezone },
      job: { name: "cleanup.run", payload: {} },
    }),
    status: 400,
    code: "QF_INVALID_ARGUMENT",
  })),
  {
    what: "schedule firing too often",
    method: "PUT",
    path: "/api/queues/maintenance/schedules/s1",
    body: JSON.stringify({ when: { everyMs: 10 }, job: { name: "cleanup.run", payload: {} } }),
    status: 400,
  },
  {
    what: "schedule with an invalid payload",
    method: "PUT",
    path: "/api/queues/maintenance/schedules/s1",
    body: JSON.stringify({
      when: { everyMs: 60_000 },
      job: { name: "cleanup.run", payload: { olderThanMs: "0" } },
    }),
    status: 422,
  },
  {
    what: "schedule id with a colon",
    method: "PUT",
    path: "/api/queues/maintenance/schedules/a:b",
    body: JSON.stringify({ when: { everyMs: 60_000 }, job: { name: "cleanup.run", payload: {} } }),
    status: 400,
  },
  {
    what: "events for an unknown queue",
    method: "GET",
    path: "/api/events?queue=payments",
    status: 404,
  },
  {
    what: "events for jobs without one queue",
    method: "GET",
    path: "/api/events?job=abc",
    status: 400,
  },
  {
    what: "Mongo operator in a dead-letter query filter",
    method: "GET",
    path: "/api/dead-letters?errorClass[$ne]=x",
    status: 400,
  },
  {
    what: "SQL in a dead-letter error name",
    method: "GET",
    path: "/api/dead-letters?errorName=x'%20or%201=1--",
    status: 400,
  },
  {
    what: "dead-letter cursor that is JSON",
    method: "GET",
    path: "/api/dead-letters?cursor=%7B%22v%22:1%7D",
    status: 400,
  },
  {
    what: "forged dead-letter cursor",
    method: "GET",
    path: `/api/dead-letters?cursor=${Buffer.from(JSON.stringify({ v: 1, q: "emails", c: null, f: "AAAAAAAAAAAAAAAA" })).toString("base64url")}`,
    status: 400,
  },
  {
    what: "truncated dead-letter cursor",
    method: "GET",
    path: "/api/dead-letters?cursor=eyJ2IjoxLCJxIjoi",
    status: 400,
  },
  {
    what: "non-numeric failedAfter",
    method: "GET",
    path: "/api/dead-letters?failedAfter=yesterday",
    status: 400,
  },
  {
    what: "exponent in minAttempts",
    method: "GET",
    path: "/api/dead-letters?minAttempts=1e3",
    status: 400,
  },
  {
    what: "dead letters of an unknown queue",
    method: "GET",
    path: "/api/dead-letters?queue=emails,payments",
    status: 404,
  },
  {
    what: "Mongo operator in a replay filter",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: { errorClass: { $ne: null } } }),
    status: 400,
  },
  {
    what: "regex operator in a purge filter",
    method: "POST",
    path: "/api/dead-letters/purge",
    body: JSON.stringify({ filter: { name: { $regex: ".*" } } }),
    status: 400,
  },
  {
    what: "non-numeric failedBefore in a purge filter",
    method: "POST",
    path: "/api/dead-letters/purge",
    body: JSON.stringify({ filter: { failedBefore: "tomorrow" } }),
    status: 400,
  },
  {
    what: "negative minAttempts in a replay filter",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: { minAttempts: -1 } }),
    status: 400,
  },
  {
    what: "purge without a filter",
    method: "POST",
    path: "/api/dead-letters/purge",
    body: "{}",
    status: 400,
  },
  {
    what: "replay filter on an unknown queue",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: { queue: ["emails", "payments"] } }),
    status: 404,
  },
  {
    what: "asOf that is not a number",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: {}, asOf: "now" }),
    status: 400,
  },
  {
    what: "replay cursor that is not ours",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: {}, cursor: "AAAA" }),
    status: 400,
  },
  {
    what: "__proto__ in a replay patch",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: '{"filter":{},"patch":{"subject":"x","__proto__":{"admin":true}}}',
    status: 400,
  },
  {
    what: "constructor in a replay patch",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: {}, patch: { constructor: { name: "x" } } }),
    status: 400,
  },
  {
    what: "operator key in a replay patch",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: {}, patch: { $set: { to: "x@example.com" } } }),
    status: 400,
  },
  {
    what: "oversized replay patch",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: {}, patch: { text: "x".repeat(20_000) } }),
    status: 400,
  },
  {
    what: "replay patch that is an array",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: {}, patch: [{ op: "replace", path: "/to", value: "x" }] }),
    status: 400,
  },
  {
    what: "unknown field in a replay body",
    method: "POST",
    path: "/api/dead-letters/replay",
    body: JSON.stringify({ filter: {}, where: "1=1" }),
    status: 400,
  },
  {
    what: "__proto__ in a single-job replay patch",
    method: "POST",
    path: "/api/dead-letters/emails/x1/replay",
    body: '{"patch":{"__proto__":{"polluted":1}}}',
    status: 400,
  },
  {
    what: "single-job replay on an unknown queue",
    method: "POST",
    path: "/api/dead-letters/payments/x1/replay",
    body: "{}",
    status: 404,
  },
  {
    what: "SQL in a dead-letter job id",
    method: "GET",
    path: "/api/dead-letters/emails/1'%20or%20'1'='1",
    status: 400,
  },
  { what: "unknown route", method: "GET", path: "/api/admin/shell", status: 404 },
  {
    what: "JSON sent as text/plain",
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify(email),
    type: "text/plain",
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  ...["constructor", "prototype"].map((key) => ({
    what: `a ${key} key in a payload`,
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, payload: { ...email.payload, [key]: { x: 1 } } }),
    status: 400,
    code: "MALFORMED_BODY",
  })),
  ...["constructor", "prototype", "toString"].map((key) => ({
    what: `metadata key ${key}`,
    method: "POST",
    path: "/api/queues/emails/jobs",
    body: JSON.stringify({ ...email, options: { metadata: { [key]: "x" } } }),
    status: 400,
  })),
  {
    what: "path parameter over 200 characters",
    method: "GET",
    path: `/api/queues/emails/jobs/${"a".repeat(201)}`,
    status: 400,
    code: "VALIDATION_FAILED",
  },
  {
    what: "bad percent-encoding in the path",
    method: "GET",
    path: "/api/queues/emails/jobs/%E0%A4%A",
    status: 400,
    code: "VALIDATION_FAILED",
  },
];

async function snapshot(stack: Stack): Promise<string> {
  const parts: Record<string, { counts: JobCounts; schedules: number; paused: boolean }> = {};
  for (const queue of QUEUE_NAMES) {
    const q = stack.api.queues.get(queue);
    parts[queue] = {
      counts: await q.counts(),
      schedules: (await q.listSchedules()).length,
      paused: await q.isPaused(),
    };
  }
  return JSON.stringify(parts);
}

describe.each<StoreKind>(["memory", "redis"])("bad input on the %s store", (kind) => {
  let stack: Stack;
  let before: string;
  beforeAll(async () => {
    const store = testStore(kind);
    stack = await startStack({
      store: store.config,
      drop: store.drop,
      workers: false,
      env: { BODY_LIMIT_BYTES: "65536", DLQ_PATCH_MAX_BYTES: "16384" },
    });
    // Something to protect: a job and a schedule that bad requests must not touch.
    await stack.call("/api/queues/emails/jobs", { method: "POST", json: email });
    before = await snapshot(stack);
  });
  afterAll(() => stack.close());

  it("has a table of at least 60 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases)("$what → $status, JSON error with a code, store unchanged", async (c) => {
    const res = await fetch(`${stack.url}${c.path}`, {
      method: c.method,
      headers: {
        "x-api-key": "admin-key-0123456789abcdef",
        ...(c.body === undefined ? {} : { "content-type": c.type ?? "application/json" }),
      },
      ...(c.body === undefined ? {} : { body: c.body }),
    });
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    expect(res.status, JSON.stringify(body)).toBe(c.status);
    expect(typeof body.error?.code).toBe("string");
    if (c.code !== undefined) expect(body.error?.code).toBe(c.code);
    expect(typeof body.error?.message).toBe("string");
    expect(await snapshot(stack)).toBe(before);
  });

  it("answers router errors in the API's shape, without echoing the URL", async () => {
    for (const path of [`/api/queues/emails/jobs/${"s3cr3t".repeat(40)}`, "/api/x/%E0%A4%A"]) {
      const res = await fetch(`${stack.url}${path}`, {
        headers: { "x-api-key": "admin-key-0123456789abcdef" },
      });
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(JSON.parse(text)).toEqual({
        error: { code: "VALIDATION_FAILED", message: expect.any(String) },
      });
      expect(text).not.toMatch(/s3cr3t|%E0|FST_ERR/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });
});
