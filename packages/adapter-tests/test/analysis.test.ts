import { describe, expect, it } from "vitest";
import { analyse, type ChildLog } from "../src/faults/analysis.js";
import type { Fault } from "../src/faults/timeline.js";

const timing = { leaseMs: 2000, stalledIntervalMs: 500 };

/** Job "j": acked, started on w1 at 1000, stalled at 4000 and again, to dead, at `deadAt`. */
function logs(deadAt: number): ChildLog[] {
  return [
    { name: "p", role: "producer", killedAt: null, events: [{ ev: "acked", id: "j", t: 900 }] },
    {
      name: "w1",
      role: "worker",
      killedAt: 1010,
      events: [{ ev: "start", id: "j", attempt: 1, runId: "r1", t: 1000 }],
    },
    {
      name: "w3",
      role: "worker",
      killedAt: null,
      events: [
        { ev: "stalled", id: "j", movedTo: "waiting", t: 4000 },
        { ev: "stalled", id: "j", movedTo: "dead", t: deadAt },
      ],
    },
  ];
}

const stored = new Map([["j", { state: "dead" as const, runId: null }]]);

describe("fault analysis of a dead job", () => {
  it("counts a worker killed with a claim of it on the wire as its second process fault", () => {
    const faults: Fault[] = [
      { kind: "kill", child: "w1", t: 1010 },
      // w2 dies while the network is black-holed; its claim runs when the network heals.
      { kind: "blackhole", t: 4500, back: 6000, forwardedBytes: 0 },
      { kind: "kill", child: "w2", t: 5000 },
    ];
    const report = analyse(logs(8100), faults, stored, timing);
    expect(report.deadAllowed).toEqual(["j"]);
    expect(report.deadUnexplained).toEqual([]);
  });

  it("does not excuse a second stall long after any kill", () => {
    const faults: Fault[] = [
      { kind: "kill", child: "w1", t: 1010 },
      { kind: "kill", child: "w2", t: 5000 },
    ];
    // 9 s after the second kill: more than a lease and two recovery intervals.
    const report = analyse(logs(14_000), faults, stored, timing);
    expect(report.deadUnexplained).toEqual(["j"]);
  });

  it("does not excuse a second stall when a run started after the kill", () => {
    const faults: Fault[] = [
      { kind: "kill", child: "w1", t: 1010 },
      { kind: "kill", child: "w2", t: 5000 },
    ];
    const withRun = logs(7000);
    withRun[2]!.events.unshift({ ev: "start", id: "j", attempt: 2, runId: "r2", t: 5500 });
    const report = analyse(withRun, faults, stored, timing);
    expect(report.deadUnexplained).toEqual(["j"]);
  });
});
