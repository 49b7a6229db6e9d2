import {
  type MeterProvider,
  metrics,
  type TextMapPropagator,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import type { JobMap, Middleware } from "@queueflow/core";
import { version } from "../package.json";
import { createConsumerHooks } from "./consumer.js";
import { createAddHook } from "./producer.js";
import { createQueueObserver, type ObservableQueue } from "./queue-metrics.js";
import { sdkPresence } from "./sdk-presence.js";
import { createTelemetry } from "./telemetry.js";
import { createWorkerObserver, type ObservableWorker } from "./worker-observer.js";

/** The instrumentation scope name of every tracer and meter this package creates. */
export const INSTRUMENTATION_NAME = "@queueflow/otel";

/** Options of {@link createInstrumentation}. */
export interface InstrumentationOptions {
  /** Where spans go; default the global provider (`trace`), which a registered SDK fills. */
  tracerProvider?: TracerProvider;
  /**
   * Where metrics go; default the global provider. The metrics API has no proxy: a meter taken
   * from the global provider before the SDK registers one stays a no-op, so create the
   * instrumentation after `sdk.start()` or pass the provider.
   */
  meterProvider?: MeterProvider;
  /**
   * How trace context is written into and read from job metadata; default the global
   * propagator (W3C `traceparent`/`tracestate` and baggage under NodeSDK).
   */
  propagator?: TextMapPropagator;
  /**
   * Make each attempt's `process` span a child of the job's creation span, so producer and
   * consumer share one trace. Default false: the process span starts a new trace and only
   * links to the creation span (the conventions' default), which keeps a job retried over
   * hours, or added by one request and run much later, from stretching its producer's trace.
   */
  parentOnProducer?: boolean;
}

/** What {@link createInstrumentation} returns. */
export interface QueueFlowInstrumentation {
  /**
   * Pass to both `Queue` and `Worker` as `middleware: [instrumentation.middleware]`: spans
   * and metrics for add, process and settle, and trace context carried in job metadata.
   */
  readonly middleware: Middleware;
  /**
   * Report a worker's stalled jobs (a `recover <queue>` span linked to the job's creation,
   * and `queueflow.job.stalls`) and its running/concurrency gauges. Returns a function that
   * stops observing it.
   */
  observeWorker<M extends JobMap>(worker: ObservableWorker<M>): () => void;
  /**
   * Report queue depth by state, dead letters and the oldest waiting job's age, read from the
   * store on each metric collection (one `counts()` per queue, plus one
   * `listJobs('waiting', { limit: 1 })` when something waits). Queues are told apart by name.
   * Returns a function that stops observing them.
   */
  observeQueues(queues: readonly ObservableQueue[]): () => void;
}

/**
 * OpenTelemetry traces and metrics for QueueFlow, following the messaging semantic
 * conventions. With no SDK registered the hooks call straight through: nothing is recorded,
 * nothing is written into job metadata, and the cost is one provider check per call.
 * @example
 * const otel = createInstrumentation();
 * const queue = new Queue<Jobs>("emails", { middleware: [otel.middleware] });
 * const worker = new Worker<Jobs>("emails", handlers, { middleware: [otel.middleware] });
 * otel.observeWorker(worker);
 * otel.observeQueues([queue]);
 */
export function createInstrumentation(
  options: InstrumentationOptions = {},
): QueueFlowInstrumentation {
  const tracer = (options.tracerProvider ?? trace).getTracer(INSTRUMENTATION_NAME, version);
  const meter = (options.meterProvider ?? metrics).getMeter(INSTRUMENTATION_NAME, version);
  const t = createTelemetry(tracer, meter, options.propagator, options.parentOnProducer ?? false);
  const { process, settle } = createConsumerHooks(t);
  const add = createAddHook(t);
  const live = sdkPresence(options.tracerProvider, meter);
  const middleware: Middleware = {
    add: (ctx, next) => (live() ? add(ctx, next) : next()),
    process: (ctx, next) => (live() ? process(ctx, next) : next()),
    settle: (ctx, next) => (live() ? settle(ctx, next) : next()),
  };
  return {
    middleware,
    observeWorker: createWorkerObserver(t, meter),
    observeQueues: createQueueObserver(t, meter),
  };
}
