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

  it("describes a 2xx response body for every route under /api", async () => {
    type Media = Record<string, { schema?: Record<string, unknown> }>;
    type Operation = { responses?: Record<string, { content?: Media }> };
    const doc = await stack.call<{ paths: Record<string, Record<string, Operation>> }>(
      "/docs/json",
      { scope: "none" },
    );
    const operations = Object.entries(doc.body.paths)
      .filter(([path]) => path.startsWith("/api/"))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ route: `${method} ${path}`, op })),
      );
    // Every route of the README's table (HEAD routes Fastify adds are not listed).
    expect(operations.length).toBeGreaterThanOrEqual(23);
    const undescribed = operations
      .filter(({ op }) => {
        const ok = Object.entries(op.responses ?? {}).filter(([status]) => /^2/.test(status));
        // A schema that says something: a type, properties or alternatives, not `{}`.
        return !ok.some(([, r]) =>
          Object.values(r.content ?? {}).some(
            (m) =>
              m.schema !== undefined &&
              ["type", "properties", "anyOf", "oneOf"].some((k) => k in m.schema!),
          ),
        );
      })
      .map(({ route }) => route);
    expect(undescribed).toEqual([]);
    // Spot checks: a job's fields, and the dead-letter stats.
    const schemaOf = (path: string, method: string) =>
      Object.entries(doc.body.paths[path]?.[method]?.responses ?? {}).find(([s]) =>
        /^2/.test(s),
      )?.[1].content?.["application/json"]?.schema as
        | { properties?: Record<string, { properties?: Record<string, unknown> }> }
        | undefined;
    const job = schemaOf("/api/queues/{queue}/jobs/{id}", "get")?.properties?.job?.properties;
    expect(Object.keys(job ?? {})).toEqual(
      expect.arrayContaining(["id", "state", "payload", "attempts", "errors", "createdAt"]),
    );
    expect(job).not.toHaveProperty("leaseToken");
    expect(Object.keys(schemaOf("/api/dead-letters/stats", "get")?.properties ?? {})).toEqual(
      expect.arrayContaining(["total", "byQueue", "byErrorClass", "byAge"]),
    );
    expect(
      doc.body.paths["/api/events"]?.get?.responses?.["2XX"]?.content?.["text/event-stream"],
    ).toBeDefined();
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
