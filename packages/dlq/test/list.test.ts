import { describe, expect, it } from "vitest";
import { DeadLetters } from "../src/index.js";
import { Clock, DAY, INVALID, killMany, memory, newJob, specs } from "./helpers.js";

const QUEUES = ["a", "b", "c", "d"];

async function setup() {
  const clock = new Clock();
  const adapter = await memory(clock);
  // a: 23 jobs, b: none, c: 9, d: 17 — an empty queue in the middle of the walk.
  await killMany(
    adapter,
    "a",
    specs("a", 23, (i) => ({ name: i % 2 ? "odd" : "even", errorClass: "timeout" })),
  );
  clock.advance(DAY);
  await killMany(
    adapter,
    "c",
    specs("c", 9, (i) => ({ name: "odd", errorClass: i < 3 ? "validation" : "timeout" })),
  );
  clock.advance(DAY);
  await killMany(
    adapter,
    "d",
    specs("d", 17, () => ({ name: "even", errorName: "ZodError", errorClass: "validation" })),
  );
  await adapter.enqueue([newJob("b", { id: "live" })]);
  return { clock, adapter, dlq: new DeadLetters({ adapter, queues: QUEUES }) };
}

async function walk(dlq: DeadLetters, filter: Parameters<DeadLetters["list"]>[0] = {}) {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await dlq.list({ ...filter, cursor });
    expect(page.jobs.length).toBeLessThanOrEqual(filter.limit ?? 50);
    seen.push(...page.jobs.map((j) => `${j.queue}/${j.id}`));
    cursor = page.nextCursor;
    pages++;
    expect(pages).toBeLessThan(100);
  } while (cursor !== null);
  return seen;
}

describe("list", () => {
  it("pages across queues in order, each dead job once, skipping empty queues", async () => {
    const { dlq } = await setup();
    const seen = await walk(dlq, { limit: 7 });
    const expected = [
      ...Array.from({ length: 23 }, (_, i) => `a/a${i}`),
      ...Array.from({ length: 9 }, (_, i) => `c/c${i}`),
      ...Array.from({ length: 17 }, (_, i) => `d/d${i}`),
    ];
    expect(seen).toEqual(expected);
    // A page fills across a queue boundary: 23 of a, then 5 of c, in the first four pages.
    const first = await dlq.list({ limit: 30 });
    expect(first.jobs.map((j) => j.queue)).toEqual([...Array(23).fill("a"), ...Array(7).fill("c")]);
    expect(first.jobs[0]?.errors[0]).toMatchObject({ name: "Error", errorClass: "timeout" });
  });

  it("applies every filter field", async () => {
    const { dlq, clock } = await setup();
    const start = clock.t - 2 * DAY;
    expect(await walk(dlq, { filter: { errorClass: "validation" }, limit: 4 })).toEqual([
      "c/c0",
      "c/c1",
      "c/c2",
      ...Array.from({ length: 17 }, (_, i) => `d/d${i}`),
    ]);
    expect(
      await walk(dlq, { filter: { queue: ["d", "c"], name: "odd", errorClass: "timeout" } }),
    ).toEqual(["c/c3", "c/c4", "c/c5", "c/c6", "c/c7", "c/c8"]);
    expect(await walk(dlq, { filter: { errorName: "ZodError", queue: "d" } })).toHaveLength(17);
    expect(
      await walk(dlq, {
        filter: { failedAfter: start + DAY, failedBefore: new Date(start + 2 * DAY) },
      }),
    ).toEqual(Array.from({ length: 9 }, (_, i) => `c/c${i}`));
    expect(await walk(dlq, { filter: { minAttempts: 2 } })).toEqual([]);
    expect(await walk(dlq, { filter: { maxAttempts: 1, queue: "a", name: "odd" } })).toHaveLength(
      11,
    );
  });

  it("rejects tampered, foreign and malformed cursors with a typed error", async () => {
    const { dlq } = await setup();
    const page = await dlq.list({ limit: 5 });
    const cursor = page.nextCursor!;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const body = JSON.parse(Buffer.from(cursor, "base64url").toString());
    const forge = (patch: object) =>
      Buffer.from(JSON.stringify({ ...body, ...patch })).toString("base64url");

    for (const bad of [
      "not a cursor!",
      "AAAA",
      cursor.slice(0, -3),
      forge({ q: "secret-queue" }),
      forge({ v: 2 }),
      forge({ c: 42 }),
      forge({ f: "x" }),
    ]) {
      await expect(dlq.list({ limit: 5, cursor: bad })).rejects.toMatchObject(INVALID);
    }
    // The adapter still checks its own part.
    await expect(dlq.list({ limit: 5, cursor: forge({ c: "%%" }) })).rejects.toMatchObject(INVALID);
    // A cursor only goes back with the filter that made it.
    await expect(
      dlq.list({ limit: 5, cursor, filter: { errorClass: "timeout" } }),
    ).rejects.toMatchObject(INVALID);
    expect((await dlq.list({ limit: 5, cursor })).jobs[0]?.id).toBe("a5");
  });

  it("rejects bad filters and limits before reaching the store", async () => {
    const { dlq } = await setup();
    await expect(dlq.list({ filter: { queue: "elsewhere" } })).rejects.toMatchObject(INVALID);
    await expect(dlq.list({ filter: { queue: [] } })).rejects.toMatchObject(INVALID);
    await expect(
      dlq.list({ filter: { name: { $ne: null } as unknown as string } }),
    ).rejects.toMatchObject(INVALID);
    await expect(dlq.list({ filter: { failedAfter: Number.NaN } })).rejects.toMatchObject(INVALID);
    await expect(dlq.list({ filter: { minAttempts: -1 } })).rejects.toMatchObject(INVALID);
    await expect(dlq.list({ limit: 0 })).rejects.toMatchObject(INVALID);
    await expect(dlq.list({ limit: 1001 })).rejects.toMatchObject(INVALID);
  });

  it("gets a dead job by queue and id, and null for a job that is not dead", async () => {
    const { dlq } = await setup();
    expect(await dlq.get("c", "c4")).toMatchObject({ id: "c4", queue: "c", state: "dead" });
    expect(await dlq.get("b", "live")).toBeNull();
    expect(await dlq.get("a", "missing")).toBeNull();
    await expect(dlq.get("zzz", "c4")).rejects.toMatchObject(INVALID);
    await expect(dlq.get("a", "../x")).rejects.toMatchObject(INVALID);
  });

  it("validates its options", async () => {
    const adapter = await memory();
    expect(() => new DeadLetters({ adapter, queues: [] })).toThrow(
      expect.objectContaining(INVALID),
    );
    expect(() => new DeadLetters({ adapter, queues: ["a", "a"] })).toThrow(
      expect.objectContaining(INVALID),
    );
    expect(() => new DeadLetters({ adapter, queues: ["bad key}"] })).toThrow(
      expect.objectContaining(INVALID),
    );
    expect(() => new DeadLetters({ adapter, queues: ["a"], batchSize: 0 })).toThrow(
      expect.objectContaining(INVALID),
    );
  });
});
