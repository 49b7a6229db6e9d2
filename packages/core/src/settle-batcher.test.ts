import { describe, expect, it } from "vitest";
import type { Settlement, StorageAdapter } from "./contract.js";
import { MemoryAdapter } from "./memory/memory-adapter.js";
import { SettleBatcher } from "./settle-batcher.js";

/** An adapter whose first settle call never answers (a connection that died silently). */
function withHungFirstSettle() {
  const calls: string[][] = [];
  const adapter = new MemoryAdapter();
  const settle: StorageAdapter["settle"] = async (_queue, settlements) => {
    calls.push(settlements.map((s) => s.id));
    if (calls.length === 1) return new Promise(() => undefined);
    return settlements.map(() => "ok" as const);
  };
  Object.assign(adapter, { settle });
  return { adapter, calls };
}

const complete = (id: string): Settlement => ({ kind: "complete", id, token: "t", result: null });

describe("SettleBatcher", () => {
  it("batches settlements that arrive while a call is in flight into the next call", async () => {
    const adapter = new MemoryAdapter();
    const calls: string[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    Object.assign(adapter, {
      settle: async (_q: string, settlements: Settlement[]) => {
        calls.push(settlements.map((s) => s.id));
        if (calls.length === 1) await gate;
        return settlements.map(() => "ok" as const);
      },
    });
    const batcher = new SettleBatcher(adapter, "q");
    const first = batcher.settle(complete("a"));
    await new Promise((resolve) => setImmediate(resolve));
    const later = [batcher.settle(complete("b")), batcher.settle(complete("c"))];
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toEqual([["a"]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual(["ok", "ok", "ok"]);
    expect(calls).toEqual([["a"], ["b", "c"]]);
  });

  it("sends later settlements in a call of their own once a call has gone unanswered", async () => {
    const { adapter, calls } = withHungFirstSettle();
    const batcher = new SettleBatcher(adapter, "q", 500, 100);
    void batcher.settle(complete("hung"));
    await new Promise((resolve) => setImmediate(resolve));
    const started = Date.now();
    const later = await Promise.all([batcher.settle(complete("b")), batcher.settle(complete("c"))]);
    expect(later).toEqual(["ok", "ok"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(calls).toEqual([["hung"], ["b", "c"]]);
    // drain does not wait for the stalled call.
    await batcher.drain();
  });
});
