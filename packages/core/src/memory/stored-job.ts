import type { AttemptError, BackoffOptions, JobRecord, JobState, Json, NewJob } from "../job.js";
import { cloneAttemptErrors, cloneJson, cloneJsonObject } from "./json-clone.js";

/**
 * A job as the memory adapter keeps it: the public record fields plus the bookkeeping that
 * makes lazy deletion work. One class (not object literals) keeps every job on one hidden
 * class, so the hot paths stay monomorphic.
 */
export class StoredJob {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  payload: Json;
  state: JobState;
  readonly priority: number;
  attempts = 0;
  maxAttempts: number;
  readonly backoff: BackoffOptions | null;
  readonly timeoutMs: number | null;
  readonly dedupKey: string | null;
  readonly group: string | null;
  readonly metadata: { [key: string]: Json };
  readonly createdAt: number;
  runAt: number;
  startedAt: number | null = null;
  finishedAt: number | null = null;
  leaseToken: string | null = null;
  leaseExpiresAt: number | null = null;
  workerId: string | null = null;
  progress: Json = null;
  result: Json = null;
  errors: AttemptError[] = [];
  stalls = 0;

  /** Insertion order within the queue: the last tie-breaker of claim order. */
  readonly seq: number;
  /**
   * Bumped whenever the job's heap entry (waiting, delayed or lease) stops being current.
   * A heap entry is live only while its stamp equals the job's, so removal from the middle
   * of a heap is one increment.
   */
  stamp = 0;
  /**
   * Sequence number of the job's entry into its current state, or -1 once removed. The
   * per-state listing keys on it, and an index entry is live only while it matches.
   */
  stateSeq = -1;

  constructor(job: NewJob, seq: number, now: number, runAt: number) {
    this.id = job.id;
    this.queue = job.queue;
    this.name = job.name;
    this.payload = cloneJson(job.payload);
    this.state = runAt > now ? "delayed" : "waiting";
    this.priority = job.priority;
    this.maxAttempts = job.maxAttempts;
    this.backoff = job.backoff === null ? null : { ...job.backoff };
    this.timeoutMs = job.timeoutMs;
    this.dedupKey = job.dedupKey;
    this.group = job.group ?? null;
    this.metadata = cloneJsonObject(job.metadata);
    this.createdAt = now;
    this.runAt = runAt;
    this.seq = seq;
  }

  /** A record the caller owns: mutating it, or anything in it, leaves this job unchanged. */
  toRecord(): JobRecord {
    return {
      id: this.id,
      queue: this.queue,
      name: this.name,
      payload: cloneJson(this.payload),
      state: this.state,
      priority: this.priority,
      attempts: this.attempts,
      maxAttempts: this.maxAttempts,
      backoff: this.backoff === null ? null : { ...this.backoff },
      timeoutMs: this.timeoutMs,
      dedupKey: this.dedupKey,
      metadata: cloneJsonObject(this.metadata),
      createdAt: this.createdAt,
      runAt: this.runAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      leaseToken: this.leaseToken,
      leaseExpiresAt: this.leaseExpiresAt,
      workerId: this.workerId,
      progress: cloneJson(this.progress),
      result: cloneJson(this.result),
      errors: cloneAttemptErrors(this.errors),
      stalls: this.stalls,
      ...(this.group === null ? {} : { group: this.group }),
    };
  }

  /** Name of the latest error, what dead-letter filters and stats group by. */
  lastErrorName(): string | null {
    const errors = this.errors;
    return errors.length === 0 ? null : (errors[errors.length - 1] as AttemptError).name;
  }
}
