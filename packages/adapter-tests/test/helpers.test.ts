import { MemoryAdapter, type StorageAdapter } from "@queueflow/core";
import { describe, expect, it } from "vitest";
import { claimAll, enqueueOne, uniqueQueue } from "../src/helpers.js";

describe("claimAll", () => {
  it("fails, naming the job, when an adapter's claim hands out a leased job again", async () => {
    const store = new MemoryAdapter();
    const queue = uniqueQueue("claim-all");
    await enqueueOne(store, queue);
    const [first] = (
      await store.claim({ queue, workerId: "w", limit: 1, leaseMs: 60_000, priorityRange: null })
    ).jobs;
    // A broken adapter: every claim returns the same job and never comes back empty.
    const broken = new Proxy(store, {
      get: (target, prop, receiver) =>
        prop === "claim"
          ? async () => ({ jobs: [first], nextWakeAt: null })
          : Reflect.get(target, prop, receiver),
    }) as StorageAdapter;
    await expect(claimAll(broken, queue)).rejects.toThrow(`claim returned job ${first?.id} again`);
  });

  it("claims every job once from a working adapter", async () => {
    const store = new MemoryAdapter();
    const queue = uniqueQueue("claim-all");
    for (let i = 0; i < 25; i++) await enqueueOne(store, queue);
    expect(await claimAll(store, queue)).toHaveLength(25);
  });
});
