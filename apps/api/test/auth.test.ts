import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, testStore } from "./stack.js";

describe("API keys", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ store: testStore("memory").config, workers: false });
  });
  afterAll(() => stack.close());

  const submit = (scope: "none" | "read" | "submit" | "admin", headers?: Record<string, string>) =>
    stack.call("/api/queues/emails/jobs", {
      method: "POST",
      scope,
      ...(headers ? { headers } : {}),
      json: { name: "email.send", payload: { to: "a@example.com", subject: "Hi" } },
    });

  it("refuses a request without a key: 401 with a stable code", async () => {
    const r = await stack.call("/api/queues", { scope: "none" });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("UNAUTHORIZED");
  });

  it("refuses an unknown key, and a near miss of a real one", async () => {
    for (const key of [
      "nope-nope-nope-nope",
      "admin-key-0123456789abcdeF",
      "admin-key-0123456789abcde",
    ]) {
      const r = await stack.call("/api/queues", { scope: "none", headers: { "x-api-key": key } });
      expect(r.status).toBe(401);
    }
  });

  it("lets a read key read but not submit or manage: 403", async () => {
    expect((await stack.call("/api/queues", { scope: "read" })).status).toBe(200);
    const s = await submit("read");
    expect(s.status).toBe(403);
    expect(s.body.error.code).toBe("FORBIDDEN");
    const p = await stack.call("/api/queues/emails/pause", { method: "POST", scope: "read" });
    expect(p.status).toBe(403);
    expect(await stack.api.queues.get("emails").isPaused()).toBe(false);
  });

  it("lets a submit key submit but not manage", async () => {
    expect((await submit("submit")).status).toBe(201);
    expect(
      (await stack.call("/api/queues/emails/pause", { method: "POST", scope: "submit" })).status,
    ).toBe(403);
  });

  it("lets an admin key do everything, also as a Bearer token", async () => {
    expect((await submit("admin")).status).toBe(201);
    const r = await stack.call("/api/queues/emails/pause", {
      method: "POST",
      scope: "none",
      headers: { authorization: "Bearer admin-key-0123456789abcdef" },
    });
    expect(r.status).toBe(200);
    await stack.call("/api/queues/emails/resume", { method: "POST" });
  });

  it("takes the Bearer scheme in any case (RFC 7235), and nothing but a key after it", async () => {
    for (const scheme of ["bearer", "BEARER", "Bearer", "bEaReR"]) {
      const r = await stack.call("/api/queues", {
        scope: "none",
        headers: { authorization: `${scheme} ${"read-key-0123456789abcdef"}` },
      });
      expect(r.status, scheme).toBe(200);
    }
    for (const authorization of [
      "Basic read-key-0123456789abcdef",
      "Bearerread-key-0123456789abcdef",
      "Bearer read-key-0123456789abcdef extra",
    ]) {
      const r = await stack.call("/api/queues", { scope: "none", headers: { authorization } });
      expect(r.status, authorization).toBe(401);
    }
  });

  it("leaves probes, metrics and the docs open", async () => {
    for (const path of ["/health", "/health/live", "/health/ready", "/metrics", "/docs/json"]) {
      expect((await stack.call(path, { scope: "none" })).status).toBe(200);
    }
  });
});

describe("submit rate limit", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      store: testStore("memory").config,
      workers: false,
      env: { RATE_LIMIT_MAX: "3" },
    });
  });
  afterAll(() => stack.close());

  it("answers 429 RATE_LIMITED past the limit, per key", async () => {
    const send = (scope: "submit" | "admin") =>
      stack.call("/api/queues/emails/jobs", {
        method: "POST",
        scope,
        json: { name: "email.send", payload: { to: "a@example.com", subject: "Hi" } },
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send("submit")).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const limited = await send("submit");
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    // Another key has its own budget.
    expect((await send("admin")).status).toBe(201);
  });
});
