import { describe, expect, it } from "vitest";
import type { NewJob } from "../job.js";
import { decodeCursor, encodeCursor, StateIndex } from "./state-index.js";
import { StoredJob } from "./stored-job.js";

let seq = 0;

function storedJob(name = "task"): StoredJob {
  const input: NewJob = {
    id: `j${++seq}`,
    queue: "q",
    name,
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
  return new StoredJob(input, seq, 0, 0);
}

/** An index holding `n` jobs with state sequences 1..n. */
function filled(n: number): { index: StateIndex; jobs: StoredJob[] } {
  const index = new StateIndex();
  const jobs: StoredJob[] = [];
  for (let i = 1; i <= n; i++) {
    const job = storedJob(i % 2 === 0 ? "even" : "odd");
    job.stateSeq = i;
    index.append(job);
    jobs.push(job);
  }
  return { index, jobs };
}

function leave(index: StateIndex, job: StoredJob): void {
  job.stateSeq = -1;
  index.release();
}

const noFilter = { name: undefined, errorName: undefined };

describe("StateIndex", () => {
  it("pages in entry order and reports the last page", () => {
    const { index, jobs } = filled(5);
    const first = index.page(0, 2, noFilter);
    expect(first.jobs).toEqual(jobs.slice(0, 2));
    expect(first.hasMore).toBe(true);
    const second = index.page(first.lastSeq, 2, noFilter);
    expect(second.jobs).toEqual(jobs.slice(2, 4));
    const last = index.page(second.lastSeq, 2, noFilter);
    expect(last.jobs).toEqual(jobs.slice(4));
    expect(last.hasMore).toBe(false);
  });

  it("says no more when a page ends exactly at the last job", () => {
    const { index } = filled(4);
    const page = index.page(2, 2, noFilter);
    expect(page.jobs).toHaveLength(2);
    expect(page.hasMore).toBe(false);
  });

  it("skips entries whose job left the state", () => {
    const { index, jobs } = filled(6);
    leave(index, jobs[1] as StoredJob);
    leave(index, jobs[4] as StoredJob);
    expect(index.live).toBe(4);
    expect(index.page(0, 10, noFilter).jobs.map((j) => j.id)).toEqual(
      [0, 2, 3, 5].map((i) => (jobs[i] as StoredJob).id),
    );
    expect(index.first()).toBe(jobs[0]);
    leave(index, jobs[0] as StoredJob);
    expect(index.first()).toBe(jobs[2]);
  });

  it("compacts once stale entries outnumber live ones, and cursors still resume", () => {
    const { index, jobs } = filled(1000);
    const page = index.page(0, 100, noFilter);
    // Leave 900 of 1000: well past the compaction threshold.
    for (let i = 0; i < 1000; i++) if (i % 10 !== 0) leave(index, jobs[i] as StoredJob);
    expect(index.live).toBe(100);
    expect(index.storedEntries).toBeLessThan(2 * 100 + 64 + 1);
    const rest = index.page(page.lastSeq, 1000, noFilter);
    const expected = jobs.filter((_, i) => i % 10 === 0 && i >= 100).map((j) => j.stateSeq);
    expect(rest.jobs.map((j) => j.stateSeq)).toEqual(expected);
  });

  it("filters by name without exceeding the limit", () => {
    const { index } = filled(10);
    const page = index.page(0, 3, { name: "even", errorName: undefined });
    expect(page.jobs.map((j) => j.stateSeq)).toEqual([2, 4, 6]);
    expect(page.hasMore).toBe(true);
    const next = index.page(page.lastSeq, 3, { name: "even", errorName: undefined });
    expect(next.jobs.map((j) => j.stateSeq)).toEqual([8, 10]);
    expect(next.hasMore).toBe(false);
  });

  it("filters by the latest error's name", () => {
    const { index, jobs } = filled(3);
    const at = 0;
    (jobs[0] as StoredJob).errors.push({ attempt: 1, name: "Timeout", message: "", at });
    (jobs[1] as StoredJob).errors.push(
      { attempt: 1, name: "Timeout", message: "", at },
      { attempt: 2, name: "TypeError", message: "", at },
    );
    const page = index.page(0, 10, { name: undefined, errorName: "Timeout" });
    expect(page.jobs).toEqual([jobs[0]]);
  });
});

describe("listing cursors", () => {
  it("round-trip and reject strings no page produced", () => {
    expect(decodeCursor(encodeCursor(123_456_789))).toBe(123_456_789);
    expect(() => decodeCursor("not a cursor!")).toThrow(
      expect.objectContaining({ code: "QF_INVALID_ARGUMENT" }),
    );
  });
});
