import type { JobRecord, Json } from "@queueflow/core";
import { describe, expect, it, vi } from "vitest";
import { DeadLetters, type ReplayProgress } from "../src/index.js";
import { Clock, INVALID, idsIn, killAgain, killMany, memory, newJob, specs } from "./helpers.js";

describe("replay", () => {
  it("replays only matching jobs, with a patch function and a new attempt budget", async () => {
    const adapter = await memory();
    await killMany(
      adapter,
      "mail",
      specs("m", 30, (i) => ({
        errorClass: i % 3 === 0 ? "connection" : "validation",
        payload: { to: `u${i}@x`, tries: i },
      })),
    );
    await killMany(
      adapter,
      "other",
      specs("o", 5, () => ({ errorClass: "connection" })),
    );
    const dlq = new DeadLetters({ adapter, queues: ["mail", "other"], batchSize: 4 });

    const seen: string[] = [];
    const result = await dlq.replay({
      filter: { queue: "mail", errorClass: "connection" },
      patch: (job: JobRecord) => {
        seen.push(job.id);
        const payload = job.payload as { to: string };
        return { to: payload.to.toUpperCase(), fixed: true };
      },
      maxAttempts: 4,
    });

    const matching = Array.from({ length: 10 }, (_, k) => `m${3 * k}`);
    expect(result.stoppedBy).toBe("done");
    expect(result.counts).toEqual({ replayed: 10, skipped: 0, failed: 0 });
    expect(result.replayed).toEqual(matching.map((id) => ({ queue: "mail", id })));
    expect(seen).toEqual(matching);
    const job = await adapter.getJob("mail", "m3");
    expect(job).toMatchObject({
      state: "waiting",
      payload: { to: "U3@X", fixed: true },
      maxAttempts: 4,
      attempts: 0,
    });
    expect(job?.errors).toHaveLength(1); // the audit trail is kept
    expect((await adapter.getJob("mail", "m1"))?.state).toBe("dead");
    expect(await idsIn(adapter, "other", "dead")).toHaveLength(5);
  });

  it("applies an RFC 7396 merge patch to a copy, and skips payloads that are not objects", async () => {
    const adapter = await memory();
    await killMany(adapter, "q", [
      { id: "obj", payload: { a: 1, nested: { keep: 1, drop: 2 }, list: [1, 2] } },
      { id: "arr", payload: [1, 2, 3] },
      { id: "str", payload: "plain" },
    ]);
    const dlq = new DeadLetters({ adapter, queues: ["q"] });
    const patch = { a: null, nested: { drop: null, added: true }, list: [9] };
    const before = JSON.stringify(patch);
    const result = await dlq.replay({ patch });

    expect(result.counts).toEqual({ replayed: 1, skipped: 2, failed: 0 });
    expect(result.skipped).toEqual([
      { queue: "q", id: "arr", reason: "payload_not_object" },
      { queue: "q", id: "str", reason: "payload_not_object" },
    ]);
    expect((await adapter.getJob("q", "obj"))?.payload).toEqual({
      nested: { keep: 1, added: true },
      list: [9],
    });
    expect(JSON.stringify(patch)).toBe(before);
    expect(await adapter.getJob("q", "arr")).toMatchObject({ state: "dead", payload: [1, 2, 3] });
  });

  it("reports patch functions that throw or return non-JSON as failed, leaving those jobs dead", async () => {
    const adapter = await memory();
    await killMany(
      adapter,
      "q",
      specs("j", 4, (i) => ({ payload: { i } })),
    );
    const dlq = new DeadLetters({ adapter, queues: ["q"], maxPayloadBytes: 64 });
    const result = await dlq.replay({
      patch: async (job): Promise<Json> => {
        const i = (job.payload as { i: number }).i;
        if (i === 0) throw new TypeError("cannot fix");
        if (i === 1) return { when: new Date(0) } as never;
        if (i === 2) return { big: "x".repeat(100) };
        return { i, ok: true };
      },
    });
    expect(result.counts).toEqual({ replayed: 1, skipped: 0, failed: 3 });
    expect(result.failed).toEqual([
      { queue: "q", id: "j0", reason: "patch_threw", message: "TypeError: cannot fix" },
      { queue: "q", id: "j1", reason: "invalid_payload", message: expect.stringContaining("Date") },
      { queue: "q", id: "j2", reason: "invalid_payload", message: expect.stringContaining("64") },
    ]);
    expect(await idsIn(adapter, "q", "dead")).toEqual(["j0", "j1", "j2"]);
    expect((await adapter.getJob("q", "j3"))?.payload).toEqual({ i: 3, ok: true });
  });

  it("replays each job once when two callers replay the same jobs concurrently", async () => {
    const adapter = await memory();
    await killMany(
      adapter,
      "q",
      specs("j", 200, () => ({})),
    );
    const dlq = new DeadLetters({ adapter, queues: ["q"], batchSize: 7 });
    const asOf = await adapter.now();
    const [one, two] = await Promise.all([dlq.replay({ asOf }), dlq.replay({ asOf })]);

    expect(one.counts.replayed + two.counts.replayed).toBe(200);
    const all = [...one.replayed, ...two.replayed].map((r) => r.id);
    expect(new Set(all).size).toBe(200);
    for (const r of [one, two]) {
      expect(r.counts.failed).toBe(0);
      expect(r.skipped.every((s) => s.reason === "not_dead")).toBe(true);
    }
    expect((await adapter.counts("q")).waiting).toBe(200);
  });

  it("is a no-op when repeated with the same asOf after the replayed jobs died again", async () => {
    const clock = new Clock();
    const adapter = await memory(clock);
    await killMany(
      adapter,
      "q",
      specs("j", 12, () => ({ errorClass: "timeout" })),
    );
    const dlq = new DeadLetters({ adapter, queues: ["q"], batchSize: 5 });
    const first = await dlq.replay({ filter: { errorClass: "timeout" } });
    expect(first.counts.replayed).toBe(12);
    expect(first.asOf).toBe(clock.t);

    clock.advance(1_000);
    expect(await killAgain(adapter, "q")).toHaveLength(12);
    await killMany(adapter, "q", [{ id: "new", errorClass: "timeout" }]);

    // The same request again (an HTTP retry): nothing runs twice, the newcomer is not touched.
    const again = await dlq.replay({ filter: { errorClass: "timeout" }, asOf: first.asOf });
    expect(again.counts).toEqual({ replayed: 0, skipped: 0, failed: 0 });
    // Asked by id, each job says why it stays.
    const single = await dlq.replayJob("q", "j4", { asOf: first.asOf });
    expect(single.skipped).toEqual([{ queue: "q", id: "j4", reason: "failed_after_as_of" }]);
    expect(await idsIn(adapter, "q", "dead")).toHaveLength(13);

    // Another caller replays a batch between our list and our retry, and it dies again.
    const retry = vi.spyOn(adapter, "retryJobs");
    retry.mockImplementationOnce(async (request) => {
      retry.mockRestore();
      await adapter.retryJobs({ ...request, asOf: clock.t });
      clock.advance(1_000);
      await killAgain(adapter, "q");
      return adapter.retryJobs(request);
    });
    const asOf = clock.t;
    const raced = await dlq.replay({ asOf });
    const firstBatch = ["j0", "j1", "j2", "j3", "j4"];
    expect(raced.skipped).toEqual(
      firstBatch.map((id) => ({ queue: "q", id, reason: "failed_after_as_of" })),
    );
    expect(raced.counts.replayed).toBe(8);
    for (const id of firstBatch) expect((await adapter.getJob("q", id))?.state).toBe("dead");
  });

  it("explains jobs held back by a live job's dedup key, or gone", async () => {
    const adapter = await memory();
    await killMany(adapter, "q", [{ id: "d1", dedupKey: "k" }, { id: "d2" }]);
    await adapter.enqueue([newJob("q", { id: "live", dedupKey: "k" })]);
    const dlq = new DeadLetters({ adapter, queues: ["q"] });
    const remove = vi.spyOn(adapter, "retryJobs");
    remove.mockImplementationOnce(async (request) => {
      remove.mockRestore();
      await adapter.remove("q", "d2");
      return adapter.retryJobs(request);
    });
    const result = await dlq.replay();
    expect(result.skipped).toEqual([
      { queue: "q", id: "d1", reason: "dedup_key_held" },
      { queue: "q", id: "d2", reason: "not_found" },
    ]);
    expect(await dlq.replayJob("q", "live")).toMatchObject({
      skipped: [{ queue: "q", id: "live", reason: "not_dead" }],
    });
  });

  it("reports progress per batch and stops between batches on abort", async () => {
    const adapter = await memory();
    await killMany(
      adapter,
      "a",
      specs("a", 10, () => ({})),
    );
    await killMany(
      adapter,
      "b",
      specs("b", 10, () => ({})),
    );
    const dlq = new DeadLetters({ adapter, queues: ["a", "b"] });
    const progress: ReplayProgress[] = [];
    const controller = new AbortController();
    const result = await dlq.replay({
      batchSize: 4,
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (p.processed >= 12) controller.abort();
      },
    });
    expect(progress.map((p) => [p.queue, p.processed, p.replayed])).toEqual([
      ["a", 4, 4],
      ["a", 8, 8],
      ["a", 10, 10],
      ["b", 14, 14],
    ]);
    expect(result.stoppedBy).toBe("aborted");
    expect(result.counts.replayed).toBe(14);
    expect(await idsIn(adapter, "b", "dead")).toHaveLength(6);

    const aborted = new AbortController();
    aborted.abort();
    const none = await dlq.replay({ signal: aborted.signal });
    expect(none).toMatchObject({ stoppedBy: "aborted", counts: { replayed: 0 } });
  });

  it("bounds the total work with maxJobs and each store call with batchSize", async () => {
    const adapter = await memory();
    await killMany(
      adapter,
      "q",
      specs("j", 50, () => ({})),
    );
    const dlq = new DeadLetters({ adapter, queues: ["q"] });
    const list = vi.spyOn(adapter, "listJobs");
    const retry = vi.spyOn(adapter, "retryJobs");
    const result = await dlq.replay({ maxJobs: 23, batchSize: 10 });
    expect(result).toMatchObject({ stoppedBy: "max_jobs", counts: { replayed: 23 } });
    expect(list.mock.calls.map(([r]) => r.limit)).toEqual([10, 10, 3]);
    expect(retry.mock.calls.map(([r]) => r.ids.length)).toEqual([10, 10, 3]);
    expect(await idsIn(adapter, "q", "dead")).toHaveLength(27);
  });

  it("continues a stopped replay from its cursor, past jobs it skipped", async () => {
    const adapter = await memory();
    // Each dies before the next is added: the key is free again once its holder is dead.
    for (const spec of specs("h", 6, () => ({ dedupKey: "held" }))) {
      await killMany(adapter, "a", [spec]);
    }
    await killMany(
      adapter,
      "b",
      specs("j", 5, () => ({})),
    );
    await adapter.enqueue([newJob("a", { id: "live", dedupKey: "held" })]);
    const dlq = new DeadLetters({ adapter, queues: ["a", "b"] });
    const first = await dlq.replay({ maxJobs: 8, batchSize: 5 });
    expect(first).toMatchObject({ stoppedBy: "max_jobs", counts: { replayed: 2, skipped: 6 } });
    expect(first.nextCursor).toEqual(expect.any(String));

    const rest = await dlq.replay({ cursor: first.nextCursor, asOf: first.asOf, maxJobs: 8 });
    expect(rest).toMatchObject({ stoppedBy: "done", nextCursor: null, counts: { replayed: 3 } });
    expect(rest.skipped).toEqual([]);
    await expect(
      dlq.replay({ cursor: first.nextCursor, filter: { queue: "b" } }),
    ).rejects.toMatchObject(INVALID);
  });

  it("replays a single job by id with a merge patch", async () => {
    const adapter = await memory();
    await killMany(adapter, "q", [{ id: "one", payload: { n: 1 } }, { id: "two" }]);
    const dlq = new DeadLetters({ adapter, queues: ["q"] });
    const result = await dlq.replayJob("q", "one", { patch: { n: 2 }, maxAttempts: 3 });
    expect(result.replayed).toEqual([{ queue: "q", id: "one" }]);
    expect(await adapter.getJob("q", "one")).toMatchObject({
      state: "waiting",
      payload: { n: 2 },
      maxAttempts: 3,
    });
    expect((await dlq.replayJob("q", "nope")).skipped).toEqual([
      { queue: "q", id: "nope", reason: "not_found" },
    ]);
  });

  it("rejects bad input with a typed error before moving anything", async () => {
    const adapter = await memory();
    await killMany(adapter, "q", [{ id: "j" }]);
    const dlq = new DeadLetters({ adapter, queues: ["q"] });
    for (const bad of [
      { patch: [1] as never },
      { patch: "x" as never },
      { patch: JSON.parse('{"__proto__": {"polluted": true}}') },
      { patch: { when: new Date() } as never },
      { maxAttempts: 0 },
      { maxJobs: 1.5 },
      { batchSize: 5000 },
      { asOf: Number.NaN },
      { filter: { queue: "nope" } },
    ]) {
      await expect(dlq.replay(bad)).rejects.toMatchObject(INVALID);
    }
    await expect(dlq.replayJob("other", "j")).rejects.toMatchObject(INVALID);
    expect((await adapter.getJob("q", "j"))?.state).toBe("dead");
  });
});
