// Every runtime statement of the adapter, one function each, split by concern under
// queries/. adapter.ts maps the contract onto these and adds nothing atomic of its own.
export type { ClaimParams } from "./queries/claim.js";
export { claimJobs, claimPlainJobs, hasClaimableWork } from "./queries/claim.js";
export type { CleanParams, RetryParams } from "./queries/dead-letters.js";
export { cleanJobs, deadLetterStats, retryJobs } from "./queries/dead-letters.js";
export type { IdConflicts } from "./queries/enqueue.js";
export { enqueueJobs, enqueueOnePlainJob, enqueuePlainJobs } from "./queries/enqueue.js";
export { claimGroupedJobs } from "./queries/group-claim.js";
export { pruneIdleGroups } from "./queries/groups.js";
export type { ListCursor, ListParams } from "./queries/inspect.js";
export { countJobs, getJob, listJobs, serverNow } from "./queries/inspect.js";
export type { SettingsPatchParams } from "./queries/manage.js";
export { getSettings, promoteJob, removeJob, updateSettings } from "./queries/manage.js";
export {
  advanceSchedule,
  listSchedules,
  removeSchedule,
  upsertSchedule,
} from "./queries/schedules.js";
export {
  cancelJob,
  completeJobs,
  extendLeases,
  recoverStalled,
  settleJobs,
  updateProgress,
} from "./queries/settle.js";
export type { Statement } from "./queries/statement.js";
