export type { ErrorClass, ErrorClassifier } from "@queueflow/core";
export { classifyError } from "@queueflow/core";
export type {
  AlertErrorContext,
  AlertEvaluation,
  AlertEvent,
  AlertRule,
  AlertThreshold,
  DeadLetterAlertsOptions,
  Notifier,
} from "./alerts.js";
export { DeadLetterAlerts } from "./alerts.js";
export type {
  DeadLetterPage,
  DeadLettersOptions,
  ListDeadLettersRequest,
  PurgeRequest,
  ReplayOptions,
  ReplayRequest,
  RetentionSweepRequest,
} from "./dead-letters.js";
export { DeadLetters } from "./dead-letters.js";
export type { DeadLetterFilter } from "./filter.js";
export type { AlertLogger } from "./notifiers/log.js";
export { logNotifier } from "./notifiers/log.js";
export type { WebhookNotifierOptions } from "./notifiers/webhook.js";
export { WebhookDeliveryError, webhookNotifier } from "./notifiers/webhook.js";
export type {
  JsonObject,
  PayloadPatch,
  ReplayFailReason,
  ReplaySkipReason,
} from "./payload-patch.js";
export type { PurgeResult } from "./purge.js";
export type {
  FailedJob,
  JobRef,
  ReplayProgress,
  ReplayResult,
  ReplayStop,
  SkippedJob,
} from "./replay.js";
export type { RetentionHandle, RetentionOptions } from "./retention.js";
export type { DeadLetterSummary } from "./stats.js";
