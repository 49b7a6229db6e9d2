import { randomUUID } from "node:crypto";
import type { BackoffOptions, Json } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { chunkPayload, decodeBackoff, encodeBackoff, packId, unpackId } from "../src/codec.js";
import { queueKeys } from "../src/keys.js";
import { job } from "./fixtures.js";
import { useAdapter, withClient } from "./helpers.js";

// The compact layout (lua/includes/common.lua): payloads cut into listpack-sized chunks,
// UUIDs packed in index members, compact backoffs. Every value must come back unchanged.
describe("compact job layout", () => {
  const { prefix, adapter } = useAdapter("layout");

  // Multi-byte characters at every offset, so some fall on a 64-byte chunk boundary.
  const payloads: Record<string, Json> = {
    small: { a: 1 },
    exactly64: { s: "x".repeat(56) },
    ascii200: { to: "user@example.com", body: "x".repeat(171) },
    multibyte: { s: "é€😀".repeat(40), t: "aé".repeat(50) },
    large: { s: "ü".repeat(700) },
    huge: { s: "y".repeat(5000) },
  };

  it("round-trips payloads of every size through every read path", async () => {
    const queue = "payloads";
    const names = Object.keys(payloads);
    await adapter.enqueue(names.map((name) => job(queue, name, { payload: payloads[name] })));
    for (const name of names) {
      expect((await adapter.getJob(queue, name))?.payload, name).toEqual(payloads[name]);
    }
    const page = await adapter.listJobs({ queue, state: "waiting", limit: 100 });
    expect(page.jobs.map((j) => [j.id, j.payload])).toEqual(names.map((n) => [n, payloads[n]]));
    const { jobs } = await adapter.claim({
      queue,
      workerId: "w",
      limit: 100,
      leaseMs: 60_000,
      priorityRange: null,
    });
    expect(new Map(jobs.map((j) => [j.id, j.payload]))).toEqual(new Map(Object.entries(payloads)));
  });

  it("keeps a 200-byte job's hash a listpack", async () => {
    const queue = "listpack";
    const id = randomUUID();
    await adapter.enqueue([
      job(queue, id, {
        payload: payloads.multibyte as Json,
        backoff: { type: "exponential", delayMs: 1000, jitter: true },
      }),
    ]);
    const encoding = await withClient((client) =>
      client.object("ENCODING", queueKeys(prefix, queue).jobPrefix + id),
    );
    expect(encoding).toBe("listpack");
  });

  it("replaces every chunk when a retry patches the payload", async () => {
    const queue = "patch";
    const id = randomUUID();
    await adapter.enqueue([job(queue, id, { payload: payloads.multibyte as Json })]);
    expect(await adapter.cancel(queue, id)).toBe("cancelled");
    expect(
      await adapter.retryJobs({ queue, ids: [id], payloadPatch: { s: "short", t: 1 } }),
    ).toEqual([id]);
    expect((await adapter.getJob(queue, id))?.payload).toEqual({ s: "short", t: 1 });
  });

  it("lists, removes and cleans jobs by UUID and by any other id alike", async () => {
    const queue = "ids";
    const ids = [randomUUID(), randomUUID().toUpperCase(), "plain-id", `x${randomUUID()}`];
    await adapter.enqueue(ids.map((id) => job(queue, id)));
    const waiting = await adapter.listJobs({ queue, state: "waiting", limit: 10 });
    expect(waiting.jobs.map((j) => j.id)).toEqual(ids);
    const { jobs } = await adapter.claim({
      queue,
      workerId: "w",
      limit: 10,
      leaseMs: 60_000,
      priorityRange: null,
    });
    expect(jobs.map((j) => j.id)).toEqual(ids);
    for (const claimed of jobs) {
      expect(
        await adapter.settle(queue, [
          { kind: "complete", id: claimed.id, token: claimed.leaseToken, result: null },
        ]),
      ).toEqual(["ok"]);
    }
    const completed = await adapter.listJobs({ queue, state: "completed", limit: 10 });
    expect(completed.jobs.map((j) => j.id)).toEqual(ids);
    expect(await adapter.remove(queue, ids[0] as string)).toBe("removed");
    expect(
      await adapter.clean({
        queue,
        state: "completed",
        finishedBefore: Date.now() + 60_000,
        limit: 10,
      }),
    ).toBe(3);
    expect((await adapter.counts(queue)).completed).toBe(0);
  });

  it("cuts payloads in the client on character bounds, at most 64 bytes a chunk", () => {
    for (const payload of Object.values(payloads)) {
      const json = JSON.stringify(payload);
      const out: string[] = [];
      chunkPayload(json, out);
      const values = out.filter((_, i) => i % 2 === 1);
      expect(out.filter((_, i) => i % 2 === 0)).toEqual(
        values.map((_, i) => (i === 0 ? "d" : `d${i}`)),
      );
      expect(values.join("")).toBe(json);
      const bytes = Buffer.byteLength(json);
      if (bytes > 64 && bytes <= 1024) {
        for (const [i, value] of values.entries()) {
          const size = Buffer.byteLength(value);
          expect(size).toBeLessThanOrEqual(64);
          // Only the last chunk may be short by more than one character (at most 3 bytes).
          if (i < values.length - 1) expect(size).toBeGreaterThan(60);
        }
      } else {
        expect(values).toHaveLength(1);
      }
    }
  });

  it("packs ids in the client exactly as the scripts do", async () => {
    const queue = "packing";
    const ids = [randomUUID(), randomUUID().toUpperCase(), "plain-id"];
    for (const id of ids) expect(unpackId(Buffer.from(packId(id)))).toBe(id);
    expect(packId(ids[0] as string)).toHaveLength(17);
    await adapter.enqueue(ids.map((id) => job(queue, id)));
    const keys = queueKeys(prefix, queue);
    // add packs in the client; cancel and remove pack the same ids again in Lua.
    const members = await withClient((client) => client.zrangeBuffer(keys.waiting, 0, -1));
    expect(members.map((m) => unpackId(m))).toEqual(ids);
    expect(members).toEqual(ids.map((id) => Buffer.from(packId(id))));
    expect(await adapter.cancel(queue, ids[0] as string)).toBe("cancelled");
    expect(await adapter.remove(queue, ids[1] as string)).toBe("removed");
    expect(await adapter.remove(queue, ids[2] as string)).toBe("removed");
    const sizes = await withClient(async (client) => [
      await client.zcard(keys.ready),
      await client.zcard(keys.waiting),
      await client.zcard(keys.cancelled),
    ]);
    expect(sizes).toEqual([0, 0, 1]);
  });

  it("stores backoffs compactly when that round-trips exactly, else as JSON", () => {
    const cases: [BackoffOptions, string | null][] = [
      [{ type: "exponential", delayMs: 1000, jitter: true }, "e 1000 j"],
      [{ type: "exponential", delayMs: 250 }, "e 250 -"],
      [{ type: "exponential", delayMs: 250, jitter: false, maxDelayMs: 9000 }, "e 250 n 9000"],
      [{ type: "fixed", delayMs: 5 }, "f 5"],
      [{ type: "fixed", delayMs: 5, maxDelayMs: 50 }, "f 5 50"],
      [{ type: "exponential", delayMs: 1, maxDelayMs: 2, jitter: true }, null],
      [{ type: "custom", name: "mine" }, null],
    ];
    for (const [backoff, text] of cases) {
      const stored = encodeBackoff(backoff);
      expect(stored).toBe(text ?? JSON.stringify(backoff));
      expect(JSON.stringify(decodeBackoff(stored))).toBe(JSON.stringify(backoff));
    }
  });
});
