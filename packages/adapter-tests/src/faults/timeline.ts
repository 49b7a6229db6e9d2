import type { FaultServer, ResolvedFaultOptions } from "./factory.js";
import type { ChildRecord, ChildSet } from "./processes.js";
import type { TcpProxy } from "./tcp-proxy.js";

/**
 * A fault the scenario caused, with its times (`Date.now()`):
 * - `kill`: SIGKILL of worker `child` at `t` (a new worker takes its slot);
 * - `stop`: SIGSTOP of worker `child` at `t`, SIGCONT at `until`;
 * - `crash`: the store crashed at `t` and answered again at `back`;
 * - `blackhole`: the proxy forwarded nothing from `t` to `back`; `forwardedBytes` is what it
 *   forwarded meanwhile (must be 0).
 */
export type Fault =
  | { kind: "kill"; child: string; t: number }
  | { kind: "stop"; child: string; t: number; until: number }
  | { kind: "crash"; t: number; back: number }
  | { kind: "blackhole"; t: number; back: number; forwardedBytes: number };

/** A store fault: the store could not be reached by any process from `t` to `back`. */
export type StoreFault = Extract<Fault, { kind: "crash" | "blackhole" }>;

/** Mulberry32: a small seeded generator, so a run's kill schedule can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function sleepUntil(t: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, t - Date.now()));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** What the timeline acts on. */
export interface TimelineTargets {
  children: ChildSet;
  proxy: TcpProxy;
  server: FaultServer | undefined;
  /** Start a worker in `slot` (after a kill). */
  respawn(slot: number): void;
}

/**
 * Run the faults of `o` from `start` (the producer's start): SIGKILLs of random workers until
 * `done` aborts, and, once each, a store crash (with a server), a black-hole and a SIGSTOP.
 * Resolves with every fault once all have ended.
 */
export async function runTimeline(
  targets: TimelineTargets,
  o: ResolvedFaultOptions,
  start: number,
  done: AbortSignal,
): Promise<Fault[]> {
  const faults: Fault[] = [];
  const random = seededRandom(o.seed);
  const pick = (records: ChildRecord[]): ChildRecord | undefined =>
    records[Math.floor(random() * records.length)];
  const never = new AbortController().signal;

  const kills = async () => {
    const [min, max] = o.killEveryMs;
    let at = start;
    for (;;) {
      at += min + random() * (max - min);
      await sleepUntil(at, done);
      if (done.aborted) return;
      const victim = pick(targets.children.liveWorkers());
      if (victim === undefined) continue;
      const t = await targets.children.kill(victim);
      faults.push({ kind: "kill", child: victim.name, t });
      targets.respawn(victim.slot);
    }
  };

  const crash = async (server: FaultServer) => {
    await sleepUntil(start + o.crashAtMs, never);
    const t = Date.now();
    await server.crash();
    await sleepUntil(t + o.crashForMs, never);
    await server.restart();
    faults.push({ kind: "crash", t, back: Date.now() });
  };

  const blackhole = async () => {
    await sleepUntil(start + o.blackholeAtMs, never);
    const t = Date.now();
    targets.proxy.blackhole();
    const before = targets.proxy.forwardedBytes;
    await sleepUntil(t + o.blackholeForMs, never);
    const forwardedBytes = targets.proxy.forwardedBytes - before;
    targets.proxy.restore();
    faults.push({ kind: "blackhole", t, back: Date.now(), forwardedBytes });
  };

  const pause = async () => {
    await sleepUntil(start + o.stopAtMs, never);
    const victim = pick(targets.children.liveWorkers());
    if (victim === undefined) throw new Error("no live worker to SIGSTOP");
    const t = targets.children.stop(victim);
    await sleepUntil(t + o.stopForMs, never);
    faults.push({ kind: "stop", child: victim.name, t, until: targets.children.resume(victim) });
  };

  await Promise.all([
    kills(),
    targets.server ? crash(targets.server) : Promise.resolve(),
    blackhole(),
    pause(),
  ]);
  return faults.sort((x, y) => x.t - y.t);
}
