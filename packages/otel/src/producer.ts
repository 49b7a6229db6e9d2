import {
  type Context,
  context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
import type { AddContext, EnqueueResult, NewJob } from "@queueflow/core";
import { metadataSetter } from "./carrier.js";
import { errorMessage, errorType } from "./error-type.js";
import {
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_QUEUEFLOW_JOB_CREATED,
  ATTR_QUEUEFLOW_JOB_NAME,
} from "./semconv.js";
import type { Telemetry } from "./telemetry.js";

/**
 * The `add` hook. One job: a PRODUCER `send <queue>` span whose context the job carries
 * (the conventions let a single-message send span be the creation context). Several jobs: a
 * PRODUCER `create <queue>` span per job, each job carrying its own, and a CLIENT
 * `send <queue>` span for the one store round trip, linked to them — so each consumer
 * links to its own job's creation, not to a batch shared by a thousand jobs.
 */
export function createAddHook(t: Telemetry) {
  return async function add(
    ctx: AddContext,
    next: () => Promise<EnqueueResult[]>,
  ): Promise<EnqueueResult[]> {
    const { queue, jobs } = ctx;
    const attrs = t.attributes(queue);
    const parent = context.active();
    // With no propagator registered (no SDK) there is nothing to carry; skip the copies.
    const carry = t.propagator.fields().length > 0;
    let span: Span;
    if (jobs.length === 1) {
      const job = jobs[0]!;
      span = t.tracer.startSpan(
        `send ${queue}`,
        { kind: SpanKind.PRODUCER, attributes: attrs.send },
        parent,
      );
      if (span.isRecording()) describeJob(span, job);
      if (carry) inject(t, trace.setSpan(parent, span), job);
    } else {
      const links: Link[] = [];
      for (const job of jobs) {
        const create = t.tracer.startSpan(
          `create ${queue}`,
          { kind: SpanKind.PRODUCER, attributes: attrs.create },
          parent,
        );
        if (carry) inject(t, trace.setSpan(parent, create), job);
        if (create.isRecording()) {
          describeJob(create, job);
          links.push({ context: create.spanContext() });
        }
        create.end();
      }
      span = t.tracer.startSpan(
        `send ${queue}`,
        {
          kind: SpanKind.CLIENT,
          links,
          attributes: { ...attrs.send, [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: jobs.length },
        },
        parent,
      );
    }
    const started = performance.now();
    let failure: unknown;
    try {
      const results = await context.with(trace.setSpan(parent, span), next);
      // A jobId or dedupKey hit returns the stored job, which keeps its first creation context.
      if (jobs.length === 1 && results[0]?.created === false) {
        span.setAttribute(ATTR_QUEUEFLOW_JOB_CREATED, false);
      }
      return results;
    } catch (err) {
      failure = err;
      span.recordException(err instanceof Error ? err : errorMessage(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
      span.setAttribute(ATTR_ERROR_TYPE, errorType(err));
      throw err;
    } finally {
      span.end();
      const metricAttrs =
        failure === undefined
          ? attrs.send
          : { ...attrs.send, [ATTR_ERROR_TYPE]: errorType(failure) };
      t.instruments.sent.add(jobs.length, metricAttrs);
      t.instruments.operationDuration.record((performance.now() - started) / 1000, metricAttrs);
    }
  };
}

function describeJob(span: Span, job: NewJob): void {
  span.setAttributes({ [ATTR_MESSAGING_MESSAGE_ID]: job.id, [ATTR_QUEUEFLOW_JOB_NAME]: job.name });
}

function inject(t: Telemetry, ctx: Context, job: NewJob): void {
  // Core hands us the caller's metadata object itself (a shared `defaultJobOptions.metadata`
  // would otherwise collect one job's traceparent and leak it into every later job): copy.
  job.metadata = { ...job.metadata };
  t.propagator.inject(ctx, job.metadata, metadataSetter);
}
