import { describe, expect, it } from "vitest";
import { type GroupLimits, GroupTable } from "./group-table.js";
import { StoredJob } from "./stored-job.js";
import { job, T0 } from "./test-support.js";

const rated: GroupLimits = { concurrency: null, rateLimit: { max: 5, windowMs: 1000 } };

/** One job of `group` through waiting, a turn, active and done, at `now`. */
function runOne(table: GroupTable, group: string, seq: number, now: number, limits: GroupLimits) {
  const stored = new StoredJob(job({ id: `j${seq}`, group }), seq, now, now);
  table.enterWaiting(stored, group);
  expect(table.nextTurn(now, limits)).toBe(group);
  expect(table.takeFrom(group)).toBe(stored);
  table.leaveWaiting(group);
  table.enterActive(group);
  table.endTurn(group, now, limits);
  table.leaveActive(group);
}

describe("GroupTable: state of idle groups", () => {
  it("forgets an idle group at once without a rate limit", () => {
    const table = new GroupTable(() => 0);
    runOne(table, "a", 1, T0, { concurrency: null, rateLimit: null });
    expect(table.size).toBe(0);
  });

  it("keeps an idle group while its rate window holds starts, then the sweep forgets it", () => {
    const table = new GroupTable(() => 0);
    for (let i = 0; i < 50; i++) runOne(table, `g${i}`, i, T0, rated);
    expect(table.size).toBe(50);
    table.sweepIdle(T0 + 500, rated.rateLimit, 1000);
    expect(table.size).toBe(50);
    // Bounded per call, and done once the window has passed.
    table.sweepIdle(T0 + 1000, rated.rateLimit, 20);
    expect(table.size).toBe(30);
    table.sweepIdle(T0 + 1000, rated.rateLimit, 1000);
    expect(table.size).toBe(0);
  });

  it("keeps a swept group that got a job meanwhile", () => {
    const table = new GroupTable(() => 0);
    runOne(table, "busy", 1, T0, rated);
    table.enterWaiting(new StoredJob(job({ id: "next", group: "busy" }), 2, T0, T0), "busy");
    table.sweepIdle(T0 + 5000, rated.rateLimit, 1000);
    expect(table.size).toBe(1);
    expect(table.nextTurn(T0 + 5000, rated)).toBe("busy");
  });
});
