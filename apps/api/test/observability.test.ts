import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobResponse, type Stack, startStack, testStore, until } from "./stack.js";

describe("metrics and docs", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ store: testStore("memory").config });
  });
  afterAll(() => stack.close());

  it("exports Prometheus metrics, every one prefixed queueflow_", async () => {
    const sent = await stack.call<JobResponse>("/api/queues/emails/jobs", {
      method: "POST",
      json: { name: "email.send", payload: { to: "a@example.com", subject: "x" } },
    });
    const path = `/api/queues/emails/jobs/${sent.body.job.id}`;
    await until(
      async () => (await stack.call<JobResponse>(path)).body.job.state === "completed",
      "completion",
    );
    const res = await fetch(`${stack.url}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^queueflow_jobs_added_total\{queue="emails",job="email.send"\} 1$/m);
    expect(text).toMatch(/^queueflow_jobs_completed_total\{queue="emails",job="email.send"\} 1$/m);
    expect(text).toMatch(
      /^queueflow_job_processing_duration_seconds_count\{queue="emails",job="email.send",outcome="ok"\} 1$/m,
    );
    expect(text).toMatch(/^queueflow_queue_jobs\{queue="emails",state="completed"\} 1$/m);
    expect(text).toMatch(/^queueflow_dead_letters\{queue="emails"\} 0$/m);
    expect(text).toMatch(/^queueflow_dead_letter_oldest_age_seconds\{queue="emails"\} 0$/m);
    expect(text).toContain("# TYPE queueflow_dead_letters_by_error_class gauge");
    expect(text).toContain("# TYPE queueflow_jobs_failed_total counter");
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !n?.startsWith("queueflow_"))).toEqual([]);
  });

  it("serves the OpenAPI document and its docs page", async () => {
    const doc = await stack.call<{ openapi: string; paths: Record<string, unknown> }>(
      "/docs/json",
      { scope: "none" },
    );
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        "/api/queues/{queue}/jobs",
        "/api/queues/{queue}/jobs/{id}",
        "/api/events",
        "/api/dead-letters",
        "/api/dead-letters/stats",
        "/api/dead-letters/replay",
        "/api/dead-letters/{queue}/{id}/replay",
        "/api/dead-letters/purge",
        "/health",
        "/metrics",
      ]),
    );
    const page = await fetch(`${stack.url}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("swagger");
  });

  it("lists the job types with their payload schemas", async () => {
    const r = await stack.call<{
      jobTypes: { name: string; queue: string; payloadSchema: { type: string } }[];
    }>("/api/job-types", { scope: "read" });
    expect(r.body.jobTypes.map((t) => t.name)).toEqual([
      "email.send",
      "notification.send",
      "data.export",
      "file.thumbnail",
      "cache.warm",
      "cleanup.run",
    ]);
    expect(r.body.jobTypes[0]?.payloadSchema.type).toBe("object");
  });
});
