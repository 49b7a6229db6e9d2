import {
  type BatchObservableResult,
  diag,
  isSpanContextValid,
  type Meter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
import type { JobMap, Worker } from "@queueflow/core";
import { metadataGetter } from "./carrier.js";
import {
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_QUEUEFLOW_JOB_STATE,
  EVENT_STALLED,
  MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
} from "./semconv.js";
import type { Telemetry } from "./telemetry.js";

/** The part of a `Worker` that {@link QueueFlowInstrumentation.observeWorker} uses. */
export type ObservableWorker<M extends JobMap> = Pick<
  Worker<M>,
  "on" | "queue" | "id" | "adapter" | "running" | "concurrency"
>;

/**
 * What the middleware cannot see: a stall is found by a worker's lease reaper, not in an
 * attempt (the attempt's own process died with its span), so it is reported from the
 * worker's `stalled` event; and the workers' running/concurrency gauges.
 */
export function createWorkerObserver(t: Telemetry, meter: Meter) {
  const workers = new Set<ObservableWorker<JobMap>>();
  const { workerRunning, workerConcurrency, stalls } = t.instruments;
  const instruments = [workerRunning, workerConcurrency];

  function collect(observer: BatchObservableResult): void {
    // Summed per queue so two workers of a queue in one process do not report the same series.
    const perQueue = new Map<string, { running: number; concurrency: number }>();
    for (const w of workers) {
      const sum = perQueue.get(w.queue) ?? { running: 0, concurrency: 0 };
      sum.running += w.running;
      sum.concurrency += w.concurrency;
      perQueue.set(w.queue, sum);
    }
    for (const [queue, sum] of perQueue) {
      const attrs = t.attributes(queue).process;
      observer.observe(workerRunning, sum.running, attrs);
      observer.observe(workerConcurrency, sum.concurrency, attrs);
    }
  }

  async function reportStall(
    worker: ObservableWorker<JobMap>,
    jobId: string,
    movedTo: "waiting" | "dead",
  ): Promise<void> {
    const attrs = t.attributes(worker.queue);
    stalls.add(1, { ...attrs.process, [ATTR_QUEUEFLOW_JOB_STATE]: movedTo });
    const span = t.tracer.startSpan(
      `recover ${worker.queue}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          ...attrs.base,
          [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
          [ATTR_MESSAGING_OPERATION_NAME]: "recover",
          [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: worker.queue,
          [ATTR_MESSAGING_CLIENT_ID]: worker.id,
          [ATTR_MESSAGING_MESSAGE_ID]: jobId,
          [ATTR_QUEUEFLOW_JOB_STATE]: movedTo,
        },
      },
      ROOT_CONTEXT,
    );
    span.addEvent(EVENT_STALLED, { [ATTR_QUEUEFLOW_JOB_STATE]: movedTo });
    if (movedTo === "dead") {
      span.setAttribute(ATTR_ERROR_TYPE, "StalledError");
      span.setStatus({ code: SpanStatusCode.ERROR, message: `job ${jobId} stalled too often` });
    }
    try {
      // Only a recorded span is worth a store read for the job's creation context.
      if (!span.isRecording()) return;
      const job = await worker.adapter.getJob(worker.queue, jobId);
      if (!job) return;
      const creation = trace.getSpanContext(
        t.propagator.extract(ROOT_CONTEXT, job.metadata, metadataGetter),
      );
      if (creation && isSpanContextValid(creation)) span.addLink({ context: creation });
    } finally {
      span.end();
    }
  }

  return function observeWorker<M extends JobMap>(worker: ObservableWorker<M>): () => void {
    const w = worker as unknown as ObservableWorker<JobMap>;
    if (workers.has(w)) return () => {};
    const off = w.on("stalled", (jobId, movedTo) => {
      reportStall(w, jobId, movedTo).catch((err: unknown) =>
        diag.error(`@queueflow/otel: could not report stalled job ${jobId}`, err),
      );
    });
    if (workers.size === 0) meter.addBatchObservableCallback(collect, instruments);
    workers.add(w);
    let disposed = false;
    return () => {
      if (disposed) return;
      disposed = true;
      off();
      workers.delete(w);
      if (workers.size === 0) meter.removeBatchObservableCallback(collect, instruments);
    };
  };
}
