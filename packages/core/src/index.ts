export type { FilterableJob } from "./adapter-aliases.js";
export {
  ageBucketIndex,
  checkClaim,
  checkJobFilter,
  checkLeaseMs,
  checkLimit,
  checkNewJob,
  checkRetryRequest,
  checkSettingsPatch,
  checkSettlements,
  checkState,
  cloneAttemptError,
  emptyAgeBuckets,
  emptyDeadLetterStats,
  matchesJobFilter,
  pickJobFilter,
  refuseTransaction,
  replacementPayload,
  SOCKET_ERROR_CODES,
  storeUnavailable,
} from "./adapter-aliases.js";
export type { BackoffFunction } from "./backoff.js";
export { computeBackoff, DEFAULT_BACKOFF, DEFAULT_MAX_BACKOFF_MS } from "./backoff.js";
export type {
  AdapterCapabilities,
  AdvanceScheduleRequest,
  AgeBucket,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  CleanRequest,
  DeadLetterStats,
  EnqueueOptions,
  EnqueueResult,
  HealthStatus,
  JobCounts,
  JobFilter,
  JobPage,
  ListJobsRequest,
  QueueSettings,
  RateLimit,
  RecoverRequest,
  RecoverResult,
  RetryRequest,
  ScheduleRecord,
  ScheduleSpec,
  Settlement,
  SettleOutcome,
  StorageAdapter,
} from "./contract.js";
export { DEAD_LETTER_AGE_BUCKETS_MS } from "./contract.js";
export { defaultAdapter } from "./default-adapter.js";
export type { ErrorClassifier } from "./error-class.js";
export { classifyError } from "./error-class.js";
export type { ErrorCode } from "./errors.js";
export {
  isQueueFlowError,
  isUnrecoverableError,
  QueueFlowError,
  UnrecoverableError,
} from "./errors.js";
export type { EventMap } from "./events.js";
export { TypedEmitter } from "./events.js";
export type { BandSlice, BandWeights } from "./fairness.js";
export { WeightedBands } from "./fairness.js";
export type {
  AttemptError,
  BackoffOptions,
  DedupMode,
  ErrorClass,
  JobRecord,
  JobState,
  Json,
  NewJob,
} from "./job.js";
export { isTerminal, JOB_STATES, TERMINAL_STATES } from "./job.js";
export type { JobContext } from "./job-context.js";
export { isSnooze, SnoozeSignal } from "./job-context.js";
export { latestErrorClass } from "./job-filter.js";
export type { JobOptions } from "./job-options.js";
export { buildNewJob } from "./job-options.js";
export type { MemoryAdapterOptions } from "./memory/index.js";
export { MemoryAdapter } from "./memory/index.js";
export type { AddContext, Middleware, ProcessContext, SettleContext } from "./middleware.js";
export type { Priority, PriorityFactors, PriorityLevel } from "./priority.js";
export {
  calculatePriority,
  defaultAttemptsFor,
  MAX_PRIORITY,
  MIN_PRIORITY,
  PRIORITY_BANDS,
  priorityBand,
  resolvePriority,
} from "./priority.js";
export type { BulkJob, ListOptions, QueueEvents, QueueOptions } from "./queue.js";
export { Queue } from "./queue.js";
export type { ScheduleJob, ScheduleWhen } from "./schedule.js";
export { firingJobId, followingRun, nextRunAfter } from "./schedule.js";
export type { FiringReport } from "./scheduler.js";
export { fireDueSchedules } from "./scheduler.js";
export type { AnyJobMap, Job, JobMap, JobName, JobSchemas } from "./types.js";
export {
  assertGroupName,
  assertJobId,
  assertJobName,
  assertJson,
  assertQueueName,
  DEFAULT_MAX_PAYLOAD_BYTES,
} from "./validate.js";
export type {
  Handler,
  Handlers,
  RetentionOptions,
  WorkerEvents,
  WorkerOptions,
} from "./worker.js";
export { Worker } from "./worker.js";
