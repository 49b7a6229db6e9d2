import { describe, expect, it } from "vitest";
import type { NewJob } from "../job.js";
import { EntryQueue } from "./heap-entry.js";
import { StoredJob } from "./stored-job.js";

function job(seq: number, runAt: number): StoredJob {
  const input = {
    id: `j${seq}`,
    queue: "q",
    name: "n",
    payload: null,
    priority: 5,
    maxAttempts: 1,
    backoff: null,
    timeoutMs: null,
    dedupKey: null,
    metadata: {},
    delayMs: 0,
    runAt,
  } satisfies NewJob;
  return new StoredJob(input, seq, runAt, runAt);
}

function drain(queue: EntryQueue): string[] {
  const out: string[] = [];
  for (let e = queue.popLive(); e !== undefined; e = queue.popLive()) out.push(e.job.id);
  return out;
}

describe("EntryQueue", () => {
  it("pops by (runAt, seq) when in-order and out-of-order arrivals mix", () => {
    const q = new EntryQueue();
    const jobs = [job(1, 100), job(2, 100), job(3, 200), job(4, 50), job(5, 200), job(6, 150)];
    for (const j of jobs) q.push(j, j.runAt);
    expect(drain(q)).toEqual(["j4", "j1", "j2", "j6", "j3", "j5"]);
  });

  it("skips entries that went stale in the FIFO run and in the heap", () => {
    const q = new EntryQueue();
    const a = job(1, 10);
    const b = job(2, 20);
    const late = job(3, 5);
    for (const j of [a, b, late]) q.push(j, j.runAt);
    a.stamp++;
    late.stamp++;
    expect(drain(q)).toEqual(["j2"]);
  });

  it("keeps order through compaction of a mostly stale run", () => {
    const q = new EntryQueue();
    const jobs = Array.from({ length: 300 }, (_, i) => job(i, i));
    for (const j of jobs) q.push(j, j.runAt);
    for (const j of jobs) if (j.seq % 3 !== 0) j.stamp++;
    q.compactIfSparse(100);
    expect(drain(q)).toEqual(jobs.filter((j) => j.seq % 3 === 0).map((j) => j.id));
  });
});
