import type { JobState } from "@queueflow/core";
import type { LogEvent } from "./protocol.js";
import type { Fault, StoreFault } from "./timeline.js";

/** One child's log with what the test did to it. */
export interface ChildLog {
  name: string;
  role: "worker" | "producer";
  events: LogEvent[];
  /** When the test SIGKILLed it, if it did. */
  killedAt: number | null;
}

/** A job as the store has it at the end (null when the store does not know the job). */
export interface StoredJob {
  state: JobState;
  /** `runId` of the stored result, when the result has one. */
  runId: string | null;
}

/** One handler run, from a worker's `start` line to its end. */
export interface Run {
  runId: string;
  id: string;
  child: string;
  start: number;
  /** When it ended in that process (completed, lost, or the process killed); null: never seen. */
  end: number | null;
  completed: boolean;
  lost: boolean;
}

/** How long after a store fault ended the first job started and the first add was acked. */
export interface Resume {
  kind: StoreFault["kind"];
  back: number;
  /** ms from `back` to the first job start; null when none came. */
  startMs: number | null;
  /** ms from `back` to the first ack; null when none came. */
  ackMs: number | null;
}

/** Everything the scenario's checks look at. */
export interface FaultReport {
  acked: number;
  completed: number;
  /** Acked jobs the store does not have. */
  lost: string[];
  /** Acked jobs dead after being in flight at two process faults or more. */
  deadAllowed: string[];
  /** Acked jobs dead without that. */
  deadUnexplained: string[];
  /** Acked jobs neither completed nor dead, with their state. */
  unfinished: { id: string; state: JobState }[];
  /** Handler starts beyond each job's first. */
  repeatedStarts: number;
  /** Jobs started more than once. */
  jobsRepeated: number;
  /** Jobs with a run in flight at some fault. */
  inFlight: number;
  /** Runs followed by another run of their job without being in flight at any fault. */
  unexplainedRepeats: { id: string; runId: string; child: string; start: number }[];
  /** Jobs whose completion two runs saw acknowledged. */
  doubleCompleted: string[];
  /** Completed jobs whose stored result is not the one run that may have written it. */
  staleResults: { id: string; runId: string | null; why: string }[];
  resumes: Resume[];
}

/** Rebuild every handler run from the worker logs. */
export function collectRuns(logs: readonly ChildLog[]): Run[] {
  const runs: Run[] = [];
  for (const log of logs) {
    if (log.role !== "worker") continue;
    const byRunId = new Map<string, Run>();
    const openById = new Map<string, Run[]>();
    for (const e of log.events) {
      if (e.ev === "start") {
        const run: Run = {
          runId: e.runId,
          id: e.id,
          child: log.name,
          start: e.t,
          end: null,
          completed: false,
          lost: false,
        };
        byRunId.set(e.runId, run);
        openById.set(e.id, [...(openById.get(e.id) ?? []), run]);
        runs.push(run);
      } else if (e.ev === "completed") {
        const run = byRunId.get(e.runId);
        if (run) {
          run.completed = true;
          run.end = e.t;
          openById.set(
            e.id,
            (openById.get(e.id) ?? []).filter((r) => r !== run),
          );
        }
      } else if (e.ev === "lost") {
        // `lost` names the job, not the run: it ends this process's oldest open run of it.
        // A job handed back before it started has no open run, and ends none.
        const [run, ...rest] = openById.get(e.id) ?? [];
        if (run) {
          run.lost = true;
          run.end = e.t;
          openById.set(e.id, rest);
        }
      }
    }
    if (log.killedAt !== null) {
      for (const open of openById.values()) {
        for (const run of open) run.end = log.killedAt;
      }
    }
  }
  return runs;
}

function overlaps(run: Run, from: number, to: number): boolean {
  return run.start <= to && (run.end === null || run.end >= from);
}

/**
 * Whether `run` was in flight at `fault`: on the killed or stopped process at that moment
 * for a process fault; on any process at any time from the store going away to a lease
 * after it answered again for a store fault (leases that ran out meanwhile are recovered
 * only then).
 */
export function inFlightAt(run: Run, fault: Fault, leaseMs: number): boolean {
  switch (fault.kind) {
    case "kill":
    case "stop":
      return run.child === fault.child && overlaps(run, fault.t, fault.t);
    case "crash":
    case "blackhole":
      return overlaps(run, fault.t, fault.back + leaseMs);
  }
}

/** Check the logs and the stored outcome against the scenario's invariants. */
export function analyse(
  logs: readonly ChildLog[],
  faults: readonly Fault[],
  stored: ReadonlyMap<string, StoredJob | null>,
  timing: { leaseMs: number; stalledIntervalMs: number },
): FaultReport {
  const { leaseMs } = timing;
  const stallsByJob = new Map<string, number[]>();
  for (const log of logs) {
    for (const e of log.events) {
      if (e.ev === "stalled") stallsByJob.set(e.id, [...(stallsByJob.get(e.id) ?? []), e.t]);
    }
  }
  const runs = collectRuns(logs);
  const runsByJob = new Map<string, Run[]>();
  for (const run of runs) runsByJob.set(run.id, [...(runsByJob.get(run.id) ?? []), run]);
  const faultsOf = (run: Run) => faults.filter((f) => inFlightAt(run, f, leaseMs));

  const acked = new Set<string>();
  const acks: number[] = [];
  for (const log of logs) {
    for (const e of log.events) {
      if (e.ev === "acked") {
        acked.add(e.id);
        acks.push(e.t);
      }
    }
  }

  const report: FaultReport = {
    acked: acked.size,
    completed: 0,
    lost: [],
    deadAllowed: [],
    deadUnexplained: [],
    unfinished: [],
    repeatedStarts: 0,
    jobsRepeated: 0,
    inFlight: 0,
    unexplainedRepeats: [],
    doubleCompleted: [],
    staleResults: [],
    resumes: [],
  };

  for (const [id, jobRuns] of runsByJob) {
    jobRuns.sort((x, y) => x.start - y.start);
    if (jobRuns.some((r) => faultsOf(r).length > 0)) report.inFlight += 1;
    if (jobRuns.length > 1) {
      report.jobsRepeated += 1;
      report.repeatedStarts += jobRuns.length - 1;
    }
    for (const run of jobRuns.slice(0, -1)) {
      if (faultsOf(run).length === 0) {
        report.unexplainedRepeats.push({
          id,
          runId: run.runId,
          child: run.child,
          start: run.start,
        });
      }
    }
    if (jobRuns.filter((r) => r.completed).length > 1) report.doubleCompleted.push(id);
  }

  for (const id of acked) {
    const job = stored.get(id) ?? null;
    const jobRuns = runsByJob.get(id) ?? [];
    if (job === null) {
      report.lost.push(id);
    } else if (job.state === "completed") {
      report.completed += 1;
      const why = staleResult(job.runId, jobRuns);
      if (why !== null) report.staleResults.push({ id, runId: job.runId, why });
    } else if (job.state === "dead") {
      const processFaults = new Set<Fault>(
        jobRuns.flatMap((r) => faultsOf(r).filter((f) => f.kind === "kill" || f.kind === "stop")),
      );
      for (const f of leaseHolderFaults(stallsByJob.get(id) ?? [], jobRuns, faults, timing)) {
        processFaults.add(f);
      }
      (processFaults.size >= 2 ? report.deadAllowed : report.deadUnexplained).push(id);
    } else {
      report.unfinished.push({ id, state: job.state });
    }
  }

  const starts = runs.map((r) => r.start);
  for (const f of faults) {
    if (f.kind !== "crash" && f.kind !== "blackhole") continue;
    report.resumes.push({
      kind: f.kind,
      back: f.back,
      startMs: firstAfter(starts, f.back),
      ackMs: firstAfter(acks, f.back),
    });
  }
  return report;
}

/**
 * Process faults that can explain a stall of a job no run of which was in flight: a worker
 * killed or stopped with a claim of it on the wire, executed after the kill (at once, or, when
 * the network was black-holed or the store down, when it came back), leased the job to a
 * process that never saw the answer. Its lease then ran out. Such a fault counts when the
 * stall came within a lease and two recovery intervals (plus a second for a loaded machine) of
 * when the claim could have run, and no run of the job started in between.
 */
function leaseHolderFaults(
  stalls: readonly number[],
  jobRuns: readonly Run[],
  faults: readonly Fault[],
  timing: { leaseMs: number; stalledIntervalMs: number },
): Fault[] {
  const window = timing.leaseMs + 2 * timing.stalledIntervalMs + 1000;
  const ranAt = (t: number) => {
    for (const f of faults) {
      if ((f.kind === "crash" || f.kind === "blackhole") && f.t <= t && t <= f.back) return f.back;
    }
    return t;
  };
  return faults.filter((f) => {
    if (f.kind !== "kill" && f.kind !== "stop") return false;
    const at = ranAt(f.t);
    return stalls.some(
      (s) => s >= at && s - at <= window && !jobRuns.some((r) => r.start >= at && r.start <= s),
    );
  });
}

/** Why a completed job's stored result is suspect, or null when it is the one it should be. */
function staleResult(runId: string | null, jobRuns: readonly Run[]): string | null {
  const run = jobRuns.find((r) => r.runId === runId);
  if (run === undefined) return `no run ${String(runId)} of this job started`;
  if (run.lost) return `run ${run.runId} on ${run.child} had its settle refused (lost)`;
  const acknowledged = jobRuns.filter((r) => r.completed);
  if (acknowledged.length === 1 && acknowledged[0] !== run) {
    return `run ${acknowledged[0]?.runId} was acknowledged, but run ${run.runId}'s result is stored`;
  }
  return null;
}

function firstAfter(times: readonly number[], t: number): number | null {
  let first: number | null = null;
  for (const x of times) if (x >= t && (first === null || x < first)) first = x;
  return first === null ? null : first - t;
}

/** One line for the lead to quote: the run's figures. */
export function summaryLine(
  name: string,
  report: FaultReport,
  faults: readonly Fault[],
  extra: { seed: number; wallMs: number; unexpectedExits: number },
): string {
  const count = (kind: Fault["kind"]) => faults.filter((f) => f.kind === kind).length;
  const resumes = report.resumes
    .map((r) => `${r.kind} start ${r.startMs ?? "none"} ms / ack ${r.ackMs ?? "none"} ms`)
    .join(", ");
  return [
    `faults[${name}] seed ${extra.seed}:`,
    `acked ${report.acked}, completed ${report.completed}, lost ${report.lost.length},`,
    `dead ${report.deadAllowed.length + report.deadUnexplained.length} (${report.deadUnexplained.length} unexplained),`,
    `unfinished ${report.unfinished.length};`,
    `repeated starts ${report.repeatedStarts} (${report.jobsRepeated} jobs, ${report.unexplainedRepeats.length} unexplained)`,
    `vs ${report.inFlight} jobs in flight at ${faults.length} faults`,
    `(${count("kill")} kills, ${count("stop")} stop, ${count("crash")} crash, ${count("blackhole")} blackhole);`,
    `resume after ${resumes || "no store fault"};`,
    `unexpected exits ${extra.unexpectedExits}; ${(extra.wallMs / 1000).toFixed(1)} s`,
  ].join(" ");
}

function describeFault(f: Fault, at: (t: number) => string): string {
  if (f.kind === "kill") return `kill ${f.child} ${at(f.t)}`;
  if (f.kind === "stop") return `stop ${f.child} ${at(f.t)}-${at(f.until)}`;
  return `${f.kind} ${at(f.t)}-${at(f.back)}`;
}

/** The faults as they happened, in seconds from the producer's start. */
export function timelineLine(name: string, faults: readonly Fault[], start: number): string {
  const at = (t: number) => ((t - start) / 1000).toFixed(1);
  return `faults[${name}] timeline (s): ${faults.map((f) => describeFault(f, at)).join(", ")}`;
}
