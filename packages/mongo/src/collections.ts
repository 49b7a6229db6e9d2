import { QueueFlowError } from "@queueflow/core";
import type { Collection, Db, IndexDescription } from "mongodb";
import type { DedupDoc, GroupDoc, JobDoc, ScheduleDoc, SettingsDoc } from "./codec.js";

/** The default collection name prefix: `qf_jobs`, `qf_queues`, `qf_dedup`, `qf_schedules`, `qf_groups`. */
export const DEFAULT_PREFIX = "qf_";

const PREFIX = /^[A-Za-z0-9_.-]{0,48}$/;

/** The adapter's collections, all named `${prefix}<part>`. */
export interface Collections {
  jobs: Collection<JobDoc>;
  /** One document per queue: settings, concurrency permits, rate-window starts. */
  queues: Collection<SettingsDoc>;
  /** One document per live dedup key, `_id: queue + ":" + key`, holding the job id. */
  dedup: Collection<DedupDoc>;
  schedules: Collection<ScheduleDoc>;
  /** One document per group of a queue, plus one for its ungrouped jobs (see groups.ts). */
  groups: Collection<GroupDoc>;
}

/** Collection names for `prefix`. */
export function collectionNames(prefix: string): Record<keyof Collections, string> {
  if (typeof prefix !== "string" || !PREFIX.test(prefix) || prefix.startsWith("system.")) {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      `Invalid collection prefix ${JSON.stringify(prefix)}: use up to 48 letters, digits, "_", "." or "-".`,
    );
  }
  return {
    jobs: `${prefix}jobs`,
    queues: `${prefix}queues`,
    dedup: `${prefix}dedup`,
    schedules: `${prefix}schedules`,
    groups: `${prefix}groups`,
  };
}

export function openCollections(db: Db, prefix: string): Collections {
  const names = collectionNames(prefix);
  return {
    jobs: db.collection<JobDoc>(names.jobs),
    queues: db.collection<SettingsDoc>(names.queues),
    dedup: db.collection<DedupDoc>(names.dedup),
    schedules: db.collection<ScheduleDoc>(names.schedules),
    groups: db.collection<GroupDoc>(names.groups),
  };
}

/**
 * Index specs, created idempotently at connect (createIndexes with the same spec and name is
 * a no-op). Every uniqueness rule is carried by `_id` (jobs `queue:id`, dedup `queue:key`,
 * settings `queue`, schedules `queue:id`), so no rule needs a partial or TTL index.
 */
export const JOB_INDEXES: IndexDescription[] = [
  // Claim order per queue: equality on queue and state ($in waiting/delayed merges two
  // ranges), then the contract order priority desc, due time, insertion.
  { key: { queue: 1, state: 1, priority: -1, runAt: 1, seq: 1 }, name: "claim_order" },
  // listJobs pages and counts: per state in order of entry into the state.
  { key: { queue: 1, state: 1, stateSeq: 1 }, name: "state_seq" },
  // clean (terminal jobs by finish time), nextWakeAt (delayed by due time), expired leases.
  { key: { queue: 1, state: 1, finishedAt: 1 }, name: "state_finished" },
  { key: { queue: 1, state: 1, runAt: 1 }, name: "state_run_at" },
  { key: { queue: 1, state: 1, leaseExpiresAt: 1 }, name: "state_lease" },
  // listJobs on dead with an error-name filter, and dead-letter stats by error.
  { key: { queue: 1, state: 1, lastErrorName: 1, stateSeq: 1 }, name: "state_error" },
  // listJobs / clean / stats by the class of the latest error.
  { key: { queue: 1, state: 1, lastErrorClass: 1, stateSeq: 1 }, name: "state_error_class" },
  // Grouped queues: a group's next job in claim order, and its earliest pending due time.
  {
    key: { queue: 1, group: 1, state: 1, priority: -1, runAt: 1, seq: 1 },
    name: "group_claim_order",
  },
  { key: { queue: 1, group: 1, state: 1, runAt: 1 }, name: "group_run_at" },
];

export const GROUP_INDEXES: IndexDescription[] = [
  // The rotation: the open group whose turn came first.
  { key: { queue: 1, parked: 1, turn: 1, _id: 1 }, name: "turn" },
  // Slot repair: groups holding slots older than the grace.
  { key: { queue: 1, "slots.at": 1 }, name: "slots_at" },
];

export const DEDUP_INDEXES: IndexDescription[] = [{ key: { jobId: 1 }, name: "job_id" }];

export const SCHEDULE_INDEXES: IndexDescription[] = [{ key: { queue: 1 }, name: "queue" }];

/** Create every index; safe to run at every connect and from several processes at once. */
export async function ensureIndexes(c: Collections): Promise<void> {
  await Promise.all([
    c.jobs.createIndexes(JOB_INDEXES),
    c.dedup.createIndexes(DEDUP_INDEXES),
    c.schedules.createIndexes(SCHEDULE_INDEXES),
    c.groups.createIndexes(GROUP_INDEXES),
  ]);
}

/** `_id` of a job: queue names never contain ":", so the first ":" splits it. */
export function jobKey(queue: string, id: string): string {
  return `${queue}:${id}`;
}

/** The queue a job `_id` belongs to (change events carry only the key). */
export function queueOfKey(key: string): string {
  const at = key.indexOf(":");
  return at < 0 ? key : key.slice(0, at);
}
