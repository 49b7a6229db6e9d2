import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summaryLine, timelineLine } from "./analysis.js";
import {
  type FaultFactory,
  type FaultScenarioOptions,
  type ResolvedFaultOptions,
  resolveFaultOptions,
} from "./factory.js";
import { runScenario, type ScenarioOutcome } from "./run-scenario.js";

/** At most this many ids or lines are shown in a failure message. */
const SHOWN = 10;

function scenarioBudget(o: ResolvedFaultOptions): number {
  return 2 * Math.ceil((o.jobs / o.rate) * 1000) + o.drainTimeoutMs + 120_000;
}

/**
 * Declare the fault scenario as one vitest `describe` block: real worker and producer
 * processes behind a TCP proxy, SIGKILLs of random workers while jobs are added, one crash
 * and restart of the store (when `factory.server` is given), one black-hole of the network,
 * and one SIGSTOP of a worker past its lease. The run happens once, before the block's tests;
 * each test then checks one invariant on what the processes logged and the store holds, and
 * a summary line with the figures is printed.
 *
 * @throws RangeError when `options` are out of range (see {@link FaultScenarioOptions}).
 * @example
 * // test/faults.test.ts
 * import { runFaultScenario } from "@queueflow/adapter-tests";
 *
 * runFaultScenario({
 *   name: "my-store",
 *   adapterModule: fileURLToPath(new URL("./fixtures/fault-adapter.mjs", import.meta.url)),
 *   target: { host: "127.0.0.1", port: 7777 },
 * });
 */
export function runFaultScenario(factory: FaultFactory, options: FaultScenarioOptions = {}): void {
  const o = resolveFaultOptions(options);
  describe(`${factory.name}: fault scenario`, () => {
    let outcome: ScenarioOutcome | undefined;
    // QF_FAULTS_KEEP_LOGS=1 keeps the children's logs of a passing run too.
    let keepLogs = process.env.QF_FAULTS_KEEP_LOGS === "1";

    beforeAll(async () => {
      outcome = await runScenario(factory, o);
      console.log(
        summaryLine(factory.name, outcome.report, outcome.faults, {
          seed: o.seed,
          wallMs: outcome.wallMs,
          unexpectedExits: outcome.unexpectedExits.length,
        }),
      );
      console.log(timelineLine(factory.name, outcome.faults, outcome.start));
    }, scenarioBudget(o));

    afterAll(() => {
      if (!outcome) return;
      if (keepLogs) console.log(`faults[${factory.name}]: logs kept in ${outcome.logDir}`);
      else rmSync(outcome.logDir, { recursive: true, force: true });
    });

    const run = (onTestFailed: (fn: () => void) => void): ScenarioOutcome => {
      onTestFailed(() => {
        keepLogs = true;
      });
      if (!outcome) throw new Error(`${factory.name}: the fault scenario did not run`);
      return outcome;
    };

    it("completes every acknowledged job: none lost, none dead short of two process faults, none unfinished", ({
      onTestFailed,
    }) => {
      const { report, producerDone, drained, counts } = run(onTestFailed);
      expect(producerDone, "the producer added all its jobs").toBe(true);
      expect(drained, `every job finished in time; counts ${JSON.stringify(counts)}`).toBe(true);
      expect(report.acked, "the producer had adds acknowledged").toBeGreaterThan(0);
      expect(report.lost.slice(0, SHOWN), `${report.lost.length} acked jobs lost`).toEqual([]);
      expect(
        report.deadUnexplained.slice(0, SHOWN),
        `${report.deadUnexplained.length} acked jobs dead without two process faults`,
      ).toEqual([]);
      expect(report.unfinished.slice(0, SHOWN), `${report.unfinished.length} unfinished`).toEqual(
        [],
      );
      expect(report.completed + report.deadAllowed.length).toBe(report.acked);
    });

    it("starts a job again only when a run of it was in flight at a fault", ({ onTestFailed }) => {
      const { report } = run(onTestFailed);
      expect(
        report.unexplainedRepeats
          .slice(0, SHOWN)
          .map((r) => `${r.id}: run ${r.runId} on ${r.child} at ${r.start}`),
        `${report.unexplainedRepeats.length} repeated starts with no fault to explain them (of ${report.repeatedStarts}; ${report.inFlight} jobs in flight at faults)`,
      ).toEqual([]);
    });

    it("keeps one owner: no job completed twice, no result written by a stale lease", ({
      onTestFailed,
    }) => {
      const { report } = run(onTestFailed);
      expect(report.doubleCompleted.slice(0, SHOWN), "jobs completed twice").toEqual([]);
      expect(
        report.staleResults.slice(0, SHOWN).map((r) => `${r.id}: ${r.why}`),
        `${report.staleResults.length} results from the wrong run`,
      ).toEqual([]);
    });

    it(`resumes work and adds within ${o.resumeWithinMs} ms of the store answering again`, ({
      onTestFailed,
    }) => {
      const { report, faults } = run(onTestFailed);
      const storeFaults = faults.filter((f) => f.kind === "crash" || f.kind === "blackhole");
      expect(report.resumes).toHaveLength(storeFaults.length);
      expect(report.resumes.length, "at least the black-hole ran").toBeGreaterThan(0);
      for (const r of report.resumes) {
        expect(r.startMs, `first job start after the ${r.kind}`).not.toBeNull();
        expect(r.ackMs, `first ack after the ${r.kind}`).not.toBeNull();
        expect(r.startMs, `first job start after the ${r.kind}`).toBeLessThanOrEqual(
          o.resumeWithinMs,
        );
        expect(r.ackMs, `first ack after the ${r.kind}`).toBeLessThanOrEqual(o.resumeWithinMs);
      }
    });

    it("keeps every process running until the test kills or stops it", ({ onTestFailed }) => {
      const { unexpectedExits } = run(onTestFailed);
      expect(
        unexpectedExits.map(
          (e) => `${e.name} exited (code ${e.code}, signal ${e.signal}):\n${e.tail}`,
        ),
      ).toEqual([]);
    });

    it("black-holes the network without forwarding a byte", ({ onTestFailed }) => {
      const { faults } = run(onTestFailed);
      const holes = faults.filter((f) => f.kind === "blackhole");
      expect(holes).toHaveLength(1);
      for (const hole of holes) expect(hole.forwardedBytes).toBe(0);
    });
  });
}
