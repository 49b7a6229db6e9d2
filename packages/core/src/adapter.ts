// The entry point for adapter authors, `@queueflow/core/adapter`: the checked edge and the
// driver it wraps, the shared guards and error mapping, and the contract types. Users of
// queues and workers import from `@queueflow/core`.
export {
  checkClaim,
  checkCleanRequest,
  checkLeaseMs,
  checkLeases,
  checkLimit,
  checkNewJob,
  checkSettingsPatch,
  checkSettlements,
  checkState,
  checkString,
  invalidArgument,
  invalidCursor,
  refuseTransaction,
} from "./adapter-input.js";
export { CheckedAdapter } from "./checked-adapter.js";
export type * from "./contract.js";
export { DEAD_LETTER_AGE_BUCKETS_MS } from "./contract.js";
export { ageBucketIndex, emptyAgeBuckets, emptyDeadLetterStats } from "./dead-letter-stats.js";
export type { StorageDriver, StoreInfo } from "./driver.js";
export { fencedOutcome } from "./driver.js";
export type { ErrorCode } from "./errors.js";
export { isQueueFlowError, QueueFlowError } from "./errors.js";
export type {
  AttemptError,
  DedupMode,
  ErrorClass,
  JobRecord,
  JobState,
  Json,
  NewJob,
} from "./job.js";
export { isTerminal, JOB_STATES, TERMINAL_STATES } from "./job.js";
export type { FilterableJob } from "./job-filter.js";
export {
  checkJobFilter,
  checkRetryRequest,
  latestErrorClass,
  matchesJobFilter,
  pickJobFilter,
  replacementPayload,
} from "./job-filter.js";
export { cloneAttemptError } from "./memory/json-clone.js";
export { MAX_PRIORITY, MIN_PRIORITY } from "./priority.js";
export type { StoreErrorSource } from "./store-errors.js";
export { mapStoreError, SOCKET_ERROR_CODES, storeUnavailable } from "./store-errors.js";
export { sleep } from "./wait.js";
