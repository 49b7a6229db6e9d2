import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deletePrefix, redisUrl, testPrefix, withClient } from "./helpers.js";

describe("Lua scripts", () => {
  const prefix = testPrefix("lua");
  afterAll(() => withClient((client) => deletePrefix(client, prefix)));

  it("keeps src/scripts.generated.ts in step with lua/", () => {
    const script = fileURLToPath(new URL("../scripts/gen-lua.mjs", import.meta.url));
    expect(() =>
      execFileSync(process.execPath, [script, "--check"], { stdio: "pipe" }),
    ).not.toThrow();
  });

  it("reloads its scripts after SCRIPT FLUSH (NOSCRIPT) and keeps working", async () => {
    const client = new Redis(redisUrl());
    const adapter = new RedisAdapter({ client, prefix });
    try {
      await adapter.connect();
      const job = {
        queue: "flush",
        name: "n",
        payload: null,
        priority: 5,
        maxAttempts: 1,
        backoff: null,
        timeoutMs: null,
        dedupKey: null,
        metadata: {},
        delayMs: 0,
        runAt: null,
      };
      await adapter.enqueue([{ ...job, id: "before" }]);
      expect(await client.script("FLUSH")).toBe("OK");

      await adapter.enqueue([{ ...job, id: "after" }]);
      expect((await adapter.counts("flush")).waiting).toBe(2);
      const { jobs } = await adapter.claim({
        queue: "flush",
        workerId: "w",
        limit: 2,
        leaseMs: 60_000,
        priorityRange: null,
      });
      expect(jobs.map((j) => j.id)).toEqual(["before", "after"]);
    } finally {
      await adapter.close();
      client.disconnect();
    }
  });
});
