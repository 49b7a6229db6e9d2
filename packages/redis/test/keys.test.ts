import { isQueueFlowError } from "@queueflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { queueKeys } from "../src/keys.js";
import { scripts } from "../src/scripts.generated.js";
import { deletePrefix, redisUrl, testPrefix, withClient } from "./helpers.js";

/** The part of a key Redis Cluster hashes: the first non-empty {...}, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  if (open === -1) return key;
  const close = key.indexOf("}", open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

describe("key naming", () => {
  const prefix = testPrefix("keys");
  afterAll(() => withClient((client) => deletePrefix(client, prefix)));

  it("builds every key of a queue under <prefix>:{<queue>}:", () => {
    const keys = queueKeys("qf", "emails");
    for (const [name, key] of Object.entries(keys)) {
      expect(key.startsWith("qf:{emails}:"), name).toBe(true);
      expect(hashTag(key), name).toBe("emails");
    }
  });

  it("passes every script only keys of the queue's slot", () => {
    const keys = queueKeys("qf", "emails");
    for (const script of Object.values(scripts)) {
      for (const name of script.keys) expect(hashTag(keys[name])).toBe("emails");
    }
  });

  it("rejects queue names that could break out of the hash tag", async () => {
    const adapter = new RedisAdapter({ url: redisUrl(), prefix });
    try {
      for (const queue of ["a{b}", "a}b", "", "a b", "x".repeat(65)]) {
        const error = await adapter.counts(queue).then(
          () => null,
          (err: unknown) => err,
        );
        expect(isQueueFlowError(error, "QF_INVALID_ARGUMENT"), queue).toBe(true);
      }
    } finally {
      await adapter.close();
    }
  });

  it("writes only keys that carry the queue's hash tag, through every transition", async () => {
    const adapter = new RedisAdapter({ url: redisUrl(), prefix });
    await adapter.connect();
    const queue = "tagged.queue-1";
    try {
      await adapter.updateSettings(queue, {
        concurrency: 5,
        rateLimit: { max: 10, windowMs: 1000 },
      });
      const base = {
        queue,
        name: "n",
        payload: { x: 1 },
        priority: 5,
        maxAttempts: 3,
        backoff: null,
        timeoutMs: null,
        metadata: { m: 1 },
        delayMs: 0,
        runAt: null,
      };
      await adapter.enqueue([
        { ...base, id: "a", dedupKey: "k1" },
        { ...base, id: "b", dedupKey: null },
        { ...base, id: "c", dedupKey: null, delayMs: 60_000 },
      ]);
      const { jobs } = await adapter.claim({
        queue,
        workerId: "w",
        limit: 2,
        leaseMs: 60_000,
        priorityRange: null,
      });
      const [a, b] = jobs;
      await adapter.settle(queue, [
        { kind: "complete", id: a!.id, token: a!.leaseToken, result: 1 },
        {
          kind: "dead",
          id: b!.id,
          token: b!.leaseToken,
          error: { attempt: 1, name: "E", message: "m", at: 1 },
        },
      ]);
      await adapter.upsertSchedule({
        queue,
        id: "s",
        spec: { kind: "every", intervalMs: 1000 },
        job: {
          name: "n",
          payload: null,
          priority: 5,
          maxAttempts: 1,
          backoff: null,
          timeoutMs: null,
          metadata: {},
        },
        nextRunAt: 1,
      });
      await adapter.deadLetterStats(queue);

      const written = await withClient(async (client) => {
        const keys: string[] = [];
        let cursor = "0";
        do {
          const [next, batch] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
          keys.push(...batch);
          cursor = next;
        } while (cursor !== "0");
        return keys;
      });
      expect(written.length).toBeGreaterThan(10);
      for (const key of written) {
        expect(key.startsWith(`${prefix}:{${queue}}:`), key).toBe(true);
        expect(hashTag(key), key).toBe(queue);
      }
    } finally {
      await adapter.close();
    }
  });
});
