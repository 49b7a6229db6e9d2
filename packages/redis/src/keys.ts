import { assertQueueName, type JobState, QueueFlowError } from "@queueflow/core";

/** The key prefix used when none is configured: keys look like `qf:{emails}:ready`. */
export const DEFAULT_PREFIX = "qf";

const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Every key of one queue, by the name the Lua headers use (`KEYS[i] <name>`). All of them
 * start with `<prefix>:{<queue>}:`, so the queue name is the hash tag and the whole queue
 * lives in one Redis Cluster slot.
 *
 * - `waitPrefix`: not a key but the prefix of the lists a waiting worker's abort pushes to
 *   (`<prefix>:{<queue>}:wait:<random>`, one per wait; see `BlockingWaits` in wake-up.ts).
 * - `jobPrefix`: not a key but the prefix of the job hashes, `<prefix>:{<queue>}:job:<id>`.
 *   Claim, recovery and promotion pick job ids inside the script, so the caller cannot pass
 *   those keys in KEYS; the scripts append the id to this prefix instead (BullMQ's trick).
 *   That stays Cluster-safe because Redis hashes only the first `{...}` of a key: every job
 *   hash carries the queue's tag and so lands in the slot of the keys the script was given.
 * - `ready`: due jobs, ZSET in claim order (score and member are described in
 *   `lua/includes/common.lua`). Its members and those of the state indexes hold the job id
 *   packed (a UUID as 16 bytes, see `packId` there); scripts unpack ids before returning them.
 * - `timers`: delayed jobs, ZSET scored by run time.
 * - `leases`: active jobs, ZSET scored by lease expiry; its ZCARD is the active count.
 * - `waiting` … `cancelled`: one ZSET per state, scored by a per-queue sequence number taken
 *   when the job entered the state: listing order, cursors, exact counts, `clean`. The
 *   waiting index duplicates `ready`'s entries, but lists by state entry as the contract
 *   asks (ready is in claim order); a waiting job's memory is its hash plus these two entries,
 *   each kept small (see the layout notes in `lua/includes/common.lua`).
 * - `dedup`: HASH dedup key → id of the non-terminal job holding it.
 * - `meta`: HASH of counters (`seq`).
 * - `settings`: HASH of queue settings (`paused`, `conc`, `rlMax`, `rlWin`, `gconc`,
 *   `grlMax`, `grlWin`) and `grp`, set once the queue has seen a grouped job: claims take
 *   turns between groups only from then on.
 * - `starts`: ZSET of recent claim times (the sliding rate-limit window).
 * - `marker`: LIST that transitions push to and `waitForWork` blocks on (at most one entry).
 * - `idle`: ZSET of the workers blocked waiting for a job, member `<leaseMs>|<workerId>`,
 *   scored by when the registration lapses; `handoff`: LIST of jobs an add leased to one of
 *   them, each a JSON array `[id, token, field, value, ...]`, taken by a waiting worker's
 *   blocking pop or, if it sits there, put back in line by the next claim (see add and claim).
 * - `dlqNames`, `dlqErrors`, `dlqClasses`: HASH counters of dead jobs by job name, latest
 *   error name and latest error class, kept by every transition into and out of dead.
 * - `dlqAt`: ZSET of dead jobs (packed ids) scored by finishedAt: the age histogram is one
 *   ZCOUNT per bucket, oldest and newest one ZRANGE each.
 * - Groups (see `lua/includes/common.lua` for the member layouts): `gready`, lex ZSET of
 *   grouped waiting jobs in per-group claim order; `gturns`, ZSET group → turn counter of
 *   the groups that may take a turn (member "" is the ungrouped jobs' turn); `gactive`,
 *   HASH group → active jobs; `gcapped`, ZSET of groups set aside at their concurrency cap
 *   (score: the cap then); `grated`, ZSET of groups set aside by their rate window (score:
 *   when it frees); `gstarts`, lex ZSET of per-group recent starts.
 * - `schedules`: HASH schedule id → JSON record without `nextRunAt`; `scheduleNext`: HASH
 *   schedule id → next run (ms) or `null`, kept apart so the compare-and-set is a string
 *   compare and the record is never re-encoded by Lua.
 */
export interface QueueKeys {
  jobPrefix: string;
  waitPrefix: string;
  ready: string;
  timers: string;
  leases: string;
  waiting: string;
  delayed: string;
  active: string;
  completed: string;
  dead: string;
  cancelled: string;
  dedup: string;
  meta: string;
  settings: string;
  starts: string;
  marker: string;
  idle: string;
  handoff: string;
  dlqNames: string;
  dlqErrors: string;
  dlqClasses: string;
  dlqAt: string;
  gready: string;
  gturns: string;
  gactive: string;
  gcapped: string;
  grated: string;
  gstarts: string;
  schedules: string;
  scheduleNext: string;
}

/** A name a Lua script may declare in its KEYS header. */
export type KeyName = keyof QueueKeys;

const STATE_KEYS: Readonly<Record<JobState, KeyName>> = {
  waiting: "waiting",
  delayed: "delayed",
  active: "active",
  completed: "completed",
  dead: "dead",
  cancelled: "cancelled",
};

/** Check a configured prefix: a `{` or `}` in it would move the hash tag off the queue name. */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== "string" || !PREFIX.test(prefix)) {
    throw new QueueFlowError(
      "QF_INVALID_ARGUMENT",
      `Invalid key prefix ${JSON.stringify(prefix)}: use 1–64 letters, digits, "_", ".", ":" or "-" (no braces: the queue name is the hash tag).`,
    );
  }
  return prefix;
}

/** The hash-tagged base of every key of `queue`: `<prefix>:{<queue>}:`. */
export function queueBase(prefix: string, queue: string): string {
  // The queue name becomes the hash tag; a brace in it would change which part Redis hashes.
  assertQueueName(queue);
  return `${prefix}:{${queue}}:`;
}

/** Build every key of `queue`. */
export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = queueBase(prefix, queue);
  return {
    jobPrefix: `${base}job:`,
    waitPrefix: `${base}wait:`,
    ready: `${base}ready`,
    timers: `${base}timers`,
    leases: `${base}leases`,
    waiting: `${base}state:waiting`,
    delayed: `${base}state:delayed`,
    active: `${base}state:active`,
    completed: `${base}state:completed`,
    dead: `${base}state:dead`,
    cancelled: `${base}state:cancelled`,
    dedup: `${base}dedup`,
    meta: `${base}meta`,
    settings: `${base}settings`,
    starts: `${base}starts`,
    marker: `${base}marker`,
    idle: `${base}idle`,
    handoff: `${base}handoff`,
    dlqNames: `${base}dlq:names`,
    dlqErrors: `${base}dlq:errors`,
    dlqClasses: `${base}dlq:classes`,
    dlqAt: `${base}dlq:at`,
    gready: `${base}g:ready`,
    gturns: `${base}g:turns`,
    gactive: `${base}g:active`,
    gcapped: `${base}g:capped`,
    grated: `${base}g:rated`,
    gstarts: `${base}g:starts`,
    schedules: `${base}schedules`,
    scheduleNext: `${base}schedules:next`,
  };
}

/** The key of one job's hash. */
export function jobKey(keys: QueueKeys, id: string): string {
  return keys.jobPrefix + id;
}

/** The listing index of a state. */
export function stateKey(keys: QueueKeys, state: JobState): string {
  return keys[STATE_KEYS[state]];
}

/**
 * Caches each queue's keys: the hot path (claim, settle) builds no strings per call. Bounded,
 * so a process touching many short-lived queues does not grow without limit.
 */
export class KeyCache {
  private readonly cache = new Map<string, QueueKeys>();

  constructor(
    readonly prefix: string,
    private readonly max = 1_000,
  ) {}

  get(queue: string): QueueKeys {
    let keys = this.cache.get(queue);
    if (keys === undefined) {
      keys = queueKeys(this.prefix, queue);
      if (this.cache.size >= this.max) this.cache.clear();
      this.cache.set(queue, keys);
    }
    return keys;
  }
}
