import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableGauge,
  type ObservableUpDownCounter,
  propagation,
  type TextMapPropagator,
  type Tracer,
  ValueType,
} from "@opentelemetry/api";
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_MESSAGING_SYSTEM_NAME,
  DURATION_BUCKETS_S,
  MESSAGING_OPERATION_TYPE_VALUE_CREATE,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
  METRIC_QUEUEFLOW_JOB_STALLS,
  METRIC_QUEUEFLOW_QUEUE_DEAD_LETTERS,
  METRIC_QUEUEFLOW_QUEUE_JOBS,
  METRIC_QUEUEFLOW_QUEUE_OLDEST_WAITING_AGE,
  METRIC_QUEUEFLOW_WORKER_CONCURRENCY,
  METRIC_QUEUEFLOW_WORKER_RUNNING,
  SYSTEM,
} from "./semconv.js";

/** The metric instruments, created once per instrumentation. */
export interface Instruments {
  sent: Counter;
  consumed: Counter;
  operationDuration: Histogram;
  processDuration: Histogram;
  stalls: Counter;
  queueJobs: ObservableUpDownCounter;
  deadLetters: ObservableUpDownCounter;
  oldestWaitingAge: ObservableGauge;
  workerRunning: ObservableUpDownCounter;
  workerConcurrency: ObservableUpDownCounter;
}

export function createInstruments(meter: Meter): Instruments {
  const duration = { unit: "s", advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } };
  return {
    sent: meter.createCounter(METRIC_MESSAGING_CLIENT_SENT_MESSAGES, {
      description: "Jobs a producer attempted to add to a queue.",
      unit: "{message}",
      valueType: ValueType.INT,
    }),
    consumed: meter.createCounter(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES, {
      description: "Jobs delivered to a handler (one per attempt).",
      unit: "{message}",
      valueType: ValueType.INT,
    }),
    operationDuration: meter.createHistogram(METRIC_MESSAGING_CLIENT_OPERATION_DURATION, {
      description: "Duration of adding jobs (send) and of settling an attempt (settle).",
      ...duration,
    }),
    processDuration: meter.createHistogram(METRIC_MESSAGING_PROCESS_DURATION, {
      description: "Duration of one attempt's handler.",
      ...duration,
    }),
    stalls: meter.createCounter(METRIC_QUEUEFLOW_JOB_STALLS, {
      description: "Expired leases recovered, by where the job went (waiting or dead).",
      unit: "{job}",
      valueType: ValueType.INT,
    }),
    queueJobs: meter.createObservableUpDownCounter(METRIC_QUEUEFLOW_QUEUE_JOBS, {
      description: "Jobs in the queue by state.",
      unit: "{job}",
      valueType: ValueType.INT,
    }),
    deadLetters: meter.createObservableUpDownCounter(METRIC_QUEUEFLOW_QUEUE_DEAD_LETTERS, {
      description: "Jobs in the queue's dead letters.",
      unit: "{job}",
      valueType: ValueType.INT,
    }),
    oldestWaitingAge: meter.createObservableGauge(METRIC_QUEUEFLOW_QUEUE_OLDEST_WAITING_AGE, {
      description: "How long the oldest waiting job has been due (0 when none waits).",
      unit: "s",
    }),
    workerRunning: meter.createObservableUpDownCounter(METRIC_QUEUEFLOW_WORKER_RUNNING, {
      description: "Handlers running now in the observed workers of this process.",
      unit: "{job}",
      valueType: ValueType.INT,
    }),
    workerConcurrency: meter.createObservableUpDownCounter(METRIC_QUEUEFLOW_WORKER_CONCURRENCY, {
      description: "Concurrency limit summed over the observed workers of this process.",
      unit: "{job}",
      valueType: ValueType.INT,
    }),
  };
}

/**
 * Attribute sets that depend only on the queue, built once per queue name and reused as-is
 * by every span start and metric record: building them per job (object spreads with
 * computed keys) was most of the instrumentation's cost with no SDK, 6–9 µs per attempt.
 * Per-job attributes are only added to spans that record.
 */
export interface QueueAttributes {
  /** Every span and metric of the queue. */
  base: Attributes;
  /** `send` operations (producer metrics). */
  send: Attributes;
  /** `create` spans of a bulk add. */
  create: Attributes;
  /** `process` operations and consumer metrics, with the consumer group. */
  process: Attributes;
  /** Settle operations by settlement kind, with the consumer group. */
  settle: Record<SettleKind, Attributes>;
}

/** How an attempt ends; `messaging.operation.name` of its settle, so span names read `dead_letter emails`. */
export const SETTLE_OPERATION = {
  complete: "complete",
  retry: "retry",
  dead: "dead_letter",
  snooze: "snooze",
} as const;
type SettleKind = keyof typeof SETTLE_OPERATION;

/** What every part of one instrumentation shares. */
export interface Telemetry {
  tracer: Tracer;
  instruments: Instruments;
  propagator: TextMapPropagator;
  parentOnProducer: boolean;
  attributes(queue: string): QueueAttributes;
}

export function createTelemetry(
  tracer: Tracer,
  meter: Meter,
  propagator: TextMapPropagator | undefined,
  parentOnProducer: boolean,
): Telemetry {
  const cache = new Map<string, QueueAttributes>();
  return {
    tracer,
    instruments: createInstruments(meter),
    // The global API object delegates to whatever propagator the SDK registers, even later.
    propagator: propagator ?? propagation,
    parentOnProducer,
    attributes(queue) {
      let attrs = cache.get(queue);
      if (!attrs) {
        const base = {
          [ATTR_MESSAGING_SYSTEM]: SYSTEM,
          [ATTR_MESSAGING_SYSTEM_NAME]: SYSTEM,
          [ATTR_MESSAGING_DESTINATION_NAME]: queue,
        };
        attrs = {
          base,
          send: {
            ...base,
            [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
            [ATTR_MESSAGING_OPERATION_NAME]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
          },
          create: {
            ...base,
            [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_CREATE,
            [ATTR_MESSAGING_OPERATION_NAME]: MESSAGING_OPERATION_TYPE_VALUE_CREATE,
          },
          process: {
            ...base,
            [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
            [ATTR_MESSAGING_OPERATION_NAME]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
            [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: queue,
          },
          settle: settleAttributes(base, queue),
        };
        cache.set(queue, attrs);
      }
      return attrs;
    },
  };
}

function settleAttributes(base: Attributes, queue: string): Record<SettleKind, Attributes> {
  const one = (kind: SettleKind): Attributes => ({
    ...base,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
    [ATTR_MESSAGING_OPERATION_NAME]: SETTLE_OPERATION[kind],
    [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: queue,
  });
  return {
    complete: one("complete"),
    retry: one("retry"),
    dead: one("dead"),
    snooze: one("snooze"),
  };
}
