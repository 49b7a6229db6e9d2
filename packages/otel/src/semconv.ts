/*
 * Messaging semantic conventions used here that are still incubating. The
 * `@opentelemetry/semantic-conventions` README asks instrumentations to copy incubating names
 * rather than import `/incubating` at runtime (it may break in a minor release, and it loads
 * about 1 MB of JS). Copied from version 1.45.0; `test/semconv.test.ts` fails when a newer
 * version renames one, so drift is caught in CI rather than in users' dashboards.
 */

/** Deprecated in favour of `messaging.system.name`, still what most backends key on; we set both. */
export const ATTR_MESSAGING_SYSTEM = "messaging.system";
export const ATTR_MESSAGING_SYSTEM_NAME = "messaging.system.name";
export const ATTR_MESSAGING_DESTINATION_NAME = "messaging.destination.name";
export const ATTR_MESSAGING_MESSAGE_ID = "messaging.message.id";
export const ATTR_MESSAGING_OPERATION_TYPE = "messaging.operation.type";
export const ATTR_MESSAGING_OPERATION_NAME = "messaging.operation.name";
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = "messaging.batch.message_count";
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = "messaging.consumer.group.name";
export const ATTR_MESSAGING_CLIENT_ID = "messaging.client.id";

export const MESSAGING_OPERATION_TYPE_VALUE_CREATE = "create";
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = "send";
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = "process";
export const MESSAGING_OPERATION_TYPE_VALUE_SETTLE = "settle";

export const METRIC_MESSAGING_CLIENT_SENT_MESSAGES = "messaging.client.sent.messages";
export const METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES = "messaging.client.consumed.messages";
export const METRIC_MESSAGING_CLIENT_OPERATION_DURATION = "messaging.client.operation.duration";
export const METRIC_MESSAGING_PROCESS_DURATION = "messaging.process.duration";

/** The bucket boundaries (seconds) the conventions recommend for messaging duration histograms. */
export const DURATION_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

// QueueFlow's own names, under the `queueflow.` namespace the conventions reserve for a system.
export const ATTR_QUEUEFLOW_JOB_NAME = "queueflow.job.name";
export const ATTR_QUEUEFLOW_JOB_ATTEMPT = "queueflow.job.attempt";
export const ATTR_QUEUEFLOW_JOB_MAX_ATTEMPTS = "queueflow.job.max_attempts";
export const ATTR_QUEUEFLOW_JOB_STALLS = "queueflow.job.stalls";
export const ATTR_QUEUEFLOW_JOB_STATE = "queueflow.job.state";
export const ATTR_QUEUEFLOW_JOB_CREATED = "queueflow.job.created";
export const ATTR_QUEUEFLOW_JOB_DELAY_MS = "queueflow.job.delay_ms";

export const EVENT_RETRY_SCHEDULED = "queueflow.job.retry_scheduled";
export const EVENT_SNOOZED = "queueflow.job.snoozed";
export const EVENT_DEAD_LETTERED = "queueflow.job.dead_lettered";
export const EVENT_LEASE_LOST = "queueflow.job.lease_lost";
export const EVENT_STALLED = "queueflow.job.stalled";

export const METRIC_QUEUEFLOW_QUEUE_JOBS = "queueflow.queue.jobs";
export const METRIC_QUEUEFLOW_QUEUE_DEAD_LETTERS = "queueflow.queue.dead_letters";
export const METRIC_QUEUEFLOW_QUEUE_OLDEST_WAITING_AGE = "queueflow.queue.oldest_waiting.age";
export const METRIC_QUEUEFLOW_JOB_STALLS = "queueflow.job.stalls";
export const METRIC_QUEUEFLOW_WORKER_RUNNING = "queueflow.worker.running";
export const METRIC_QUEUEFLOW_WORKER_CONCURRENCY = "queueflow.worker.concurrency";

/** `messaging.system` / `messaging.system.name` value. */
export const SYSTEM = "queueflow";
