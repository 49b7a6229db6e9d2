import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, type Stack, startStack, testStore } from "./stack.js";

describe("security headers", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ store: testStore("memory").config, workers: false });
  });
  afterAll(() => stack.close());

  const get = (path: string, key?: string) =>
    fetch(`${stack.url}${path}`, key ? { headers: { "x-api-key": key } } : {});

  it("sends nosniff and refuses framing on every answer", async () => {
    for (const [path, key] of [
      ["/api/queues", KEYS.read],
      ["/api/queues", undefined],
      ["/api/nothing-here", KEYS.read],
      ["/health", undefined],
      ["/metrics", undefined],
      ["/docs/json", undefined],
    ] as const) {
      const res = await get(path, key);
      await res.arrayBuffer();
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
    }
  });

  it("forbids caching authenticated answers, refusals included", async () => {
    for (const key of [KEYS.read, undefined]) {
      const res = await get("/api/queues", key);
      await res.arrayBuffer();
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    const stream = await fetch(`${stack.url}/api/events`, { headers: { "x-api-key": KEYS.read } });
    expect(stream.headers.get("cache-control")).toContain("no-store");
    expect(stream.headers.get("x-content-type-options")).toBe("nosniff");
    await stream.body?.cancel();
  });

  it("lets a JSON answer load nothing, and gives the docs page a CSP of its own", async () => {
    const api = await get("/api/queues", KEYS.read);
    await api.arrayBuffer();
    expect(api.headers.get("content-security-policy")).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
    const docs = await get("/docs/static/index.html");
    const html = await docs.text();
    expect(docs.status).toBe(200);
    expect(html).toContain("swagger");
    const csp = docs.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("upgrade-insecure-requests");
    expect(docs.headers.get("x-frame-options")).toBe("DENY");
  });
});
