import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type ChildExit, ProcessPool } from "../src/index.js";
import { waitFor } from "./helpers.js";

const modulePath = fileURLToPath(new URL("./fixtures/pool-child.mjs", import.meta.url));
const pools: ProcessPool[] = [];
const pids = new Set<number>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function makePool(env: Record<string, string> = {}, retireTimeoutMs = 10_000) {
  const pool = new ProcessPool({ modulePath, env: { ...process.env, ...env }, retireTimeoutMs });
  pool.on("spawned", (pid) => pids.add(pid));
  pools.push(pool);
  const exits: ChildExit[] = [];
  const messages: { pid: number; message: { type?: string; completed?: number } }[] = [];
  pool.on("exited", (e) => exits.push(e));
  pool.on("message", (pid, message) => messages.push({ pid, message: message as never }));
  return { pool, exits, messages };
}

afterEach(async () => {
  // Never leave children behind, whatever the test did.
  for (const pool of pools.splice(0)) pool.kill();
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
  await waitFor(() => [...pids].every((pid) => !alive(pid)), 5000, "children to be gone");
  pids.clear();
});

describe("ProcessPool", () => {
  it("forks up and retires down gracefully, each child finishing its job first", async () => {
    const { pool, exits, messages } = makePool({ JOB_MS: "400" });
    await pool.apply(3);
    expect(pool.current()).toBe(3);
    const busy = () => new Set(messages.filter((m) => m.message.type === "busy").map((m) => m.pid));
    await waitFor(() => busy().size === 3, 10_000, "3 children busy");

    const [first] = pool.pids();
    await pool.apply(1);
    expect(pool.current()).toBe(1);
    expect(pool.pids()).toEqual([first]);
    expect(pool.retiring()).toBe(2);
    await pool.settled();
    expect(exits).toHaveLength(2);
    for (const e of exits) {
      expect(e).toMatchObject({ code: 0, retired: true, killed: false });
      // The child reported its in-flight job completed before it exited.
      const closed = messages.find((m) => m.pid === e.pid && m.message.type === "closed");
      expect(closed?.message.completed).toBe(1);
    }

    await pool.apply(2);
    expect(pool.current()).toBe(2);
    await pool.close();
    expect(exits).toHaveLength(4);
    expect(exits.every((e) => e.code === 0 && e.retired)).toBe(true);
    expect([...pids].filter(alive)).toEqual([]);
  });

  it("kills a child that outlives the retire deadline", async () => {
    const { pool, exits } = makePool({ MODE: "hang" }, 300);
    await pool.apply(1);
    await pool.apply(0);
    await pool.settled();
    expect(exits).toEqual([
      expect.objectContaining({ retired: true, killed: true, signal: "SIGKILL" }),
    ]);
  });

  it("drops a crashed child and replaces it on the next apply", async () => {
    const { pool, exits } = makePool({ MODE: "crash" });
    await pool.apply(1);
    await waitFor(() => exits.length === 1, 10_000, "the crash");
    expect(exits[0]).toMatchObject({ code: 3, retired: false });
    expect(pool.current()).toBe(0);
    await pool.apply(1);
    expect(pool.current()).toBe(1);
  });
});
