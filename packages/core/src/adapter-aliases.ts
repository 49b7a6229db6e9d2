import * as input from "./adapter-input.js";
import * as stats from "./dead-letter-stats.js";
import * as filter from "./job-filter.js";
import * as clone from "./memory/json-clone.js";
import * as errors from "./store-errors.js";

// The adapter authors' names the main entry exported before `@queueflow/core/adapter`
// existed, kept so code written against them still builds and runs.

/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkClaim: typeof input.checkClaim = input.checkClaim;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkLeaseMs: typeof input.checkLeaseMs = input.checkLeaseMs;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkLimit: typeof input.checkLimit = input.checkLimit;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkNewJob: typeof input.checkNewJob = input.checkNewJob;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkSettingsPatch: typeof input.checkSettingsPatch = input.checkSettingsPatch;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkSettlements: typeof input.checkSettlements = input.checkSettlements;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkState: typeof input.checkState = input.checkState;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const refuseTransaction: typeof input.refuseTransaction = input.refuseTransaction;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const ageBucketIndex: typeof stats.ageBucketIndex = stats.ageBucketIndex;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const emptyAgeBuckets: typeof stats.emptyAgeBuckets = stats.emptyAgeBuckets;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const emptyDeadLetterStats: typeof stats.emptyDeadLetterStats = stats.emptyDeadLetterStats;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkJobFilter: typeof filter.checkJobFilter = filter.checkJobFilter;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const checkRetryRequest: typeof filter.checkRetryRequest = filter.checkRetryRequest;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const matchesJobFilter: typeof filter.matchesJobFilter = filter.matchesJobFilter;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const pickJobFilter: typeof filter.pickJobFilter = filter.pickJobFilter;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const replacementPayload: typeof filter.replacementPayload = filter.replacementPayload;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const cloneAttemptError: typeof clone.cloneAttemptError = clone.cloneAttemptError;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const SOCKET_ERROR_CODES: typeof errors.SOCKET_ERROR_CODES = errors.SOCKET_ERROR_CODES;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export const storeUnavailable: typeof errors.storeUnavailable = errors.storeUnavailable;
/** @deprecated Import it from `@queueflow/core/adapter`. */
export type FilterableJob = filter.FilterableJob;
