import {
  type Attributes,
  context,
  type Exception,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
import type {
  ClaimedJob,
  ProcessContext,
  SettleContext,
  Settlement,
  SettleOutcome,
} from "@queueflow/core";
import { metadataGetter } from "./carrier.js";
import { errorMessage, errorType } from "./error-type.js";
import {
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_QUEUEFLOW_JOB_ATTEMPT,
  ATTR_QUEUEFLOW_JOB_DELAY_MS,
  ATTR_QUEUEFLOW_JOB_MAX_ATTEMPTS,
  ATTR_QUEUEFLOW_JOB_NAME,
  ATTR_QUEUEFLOW_JOB_STALLS,
  EVENT_DEAD_LETTERED,
  EVENT_LEASE_LOST,
  EVENT_RETRY_SCHEDULED,
  EVENT_SNOOZED,
} from "./semconv.js";
import { SETTLE_OPERATION, type Telemetry } from "./telemetry.js";

/** One attempt between its `process` and its `settle`. */
interface Attempt {
  span: Span;
  seconds: number;
  /** What the handler threw: it has the `code` and stack the stored AttemptError lacks. */
  error: unknown;
}

/**
 * The `process` and `settle` hooks. The CONSUMER span of an attempt stays open until its
 * settle has run, because only the settlement says what the attempt led to (a retry and its
 * delay, a snooze, dead-lettering) and those belong on the attempt's span.
 */
export function createConsumerHooks(t: Telemetry) {
  // Keyed by the claimed job object, which core passes to both hooks of one attempt; weak so
  // an attempt whose settle never runs (an outer middleware threw) cannot leak.
  const attempts = new WeakMap<ClaimedJob, Attempt>();

  function process(ctx: ProcessContext, next: () => Promise<unknown>): Promise<unknown> {
    const { job, queue } = ctx;
    const attrs = t.attributes(queue);
    const creation = t.propagator.extract(ROOT_CONTEXT, job.metadata, metadataGetter);
    const producer = trace.getSpanContext(creation);
    const linked = producer !== undefined && isSpanContextValid(producer);
    // Never the ambient context: that is whatever was active when the worker started.
    // Dropping only the span keeps the producer's baggage.
    const parent = !linked || t.parentOnProducer ? creation : trace.deleteSpan(creation);
    const span = t.tracer.startSpan(
      `process ${queue}`,
      {
        kind: SpanKind.CONSUMER,
        ...(linked ? { links: [{ context: producer }] } : {}),
        attributes: attrs.process,
      },
      parent,
    );
    if (span.isRecording()) {
      span.setAttributes({
        [ATTR_MESSAGING_MESSAGE_ID]: job.id,
        [ATTR_MESSAGING_CLIENT_ID]: ctx.workerId,
        [ATTR_QUEUEFLOW_JOB_NAME]: job.name,
        [ATTR_QUEUEFLOW_JOB_ATTEMPT]: job.attempts,
        [ATTR_QUEUEFLOW_JOB_MAX_ATTEMPTS]: job.maxAttempts,
      });
      if (job.stalls > 0) span.setAttribute(ATTR_QUEUEFLOW_JOB_STALLS, job.stalls);
    }
    t.instruments.consumed.add(1, attrs.process);
    const attempt: Attempt = { span, seconds: 0, error: undefined };
    attempts.set(job, attempt);
    const started = performance.now();
    // With no SDK the span is a no-op with no context to hand on: skip activating it, which
    // was most of the per-attempt cost of an idle instrumentation (bench/no-sdk-overhead).
    const run = hasContext(span) ? () => context.with(trace.setSpan(parent, span), next) : next;
    return run().then(
      (value) => {
        attempt.seconds = (performance.now() - started) / 1000;
        return value;
      },
      (err: unknown) => {
        attempt.seconds = (performance.now() - started) / 1000;
        attempt.error = err;
        throw err;
      },
    );
  }

  async function settle(ctx: SettleContext, next: () => Promise<SettleOutcome>) {
    const { job, queue, settlement } = ctx;
    const attrs = t.attributes(queue);
    const attempt = attempts.get(job);
    attempts.delete(job);
    const operation = SETTLE_OPERATION[settlement.kind];
    let metricAttrs = attrs.settle[settlement.kind];
    const parent = attempt ? trace.setSpan(ROOT_CONTEXT, attempt.span) : ROOT_CONTEXT;
    const span = t.tracer.startSpan(
      `${operation} ${queue}`,
      { kind: SpanKind.CLIENT, attributes: metricAttrs },
      parent,
    );
    if (span.isRecording()) {
      span.setAttributes({
        [ATTR_MESSAGING_MESSAGE_ID]: job.id,
        [ATTR_MESSAGING_CLIENT_ID]: ctx.workerId,
      });
    }
    const started = performance.now();
    let outcome: SettleOutcome | undefined;
    let failure: unknown;
    try {
      outcome = await (hasContext(span) ? context.with(trace.setSpan(parent, span), next) : next());
      return outcome;
    } catch (err) {
      failure = err;
      span.recordException(toException(err));
      throw err;
    } finally {
      // The settle call failed, or the store refused it because the lease had moved on.
      const type =
        failure !== undefined ? errorType(failure) : outcome === "lease_lost" ? "lease_lost" : null;
      if (type !== null) {
        span.setAttribute(ATTR_ERROR_TYPE, type);
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: failure !== undefined ? errorMessage(failure) : `lease on job ${job.id} lost`,
        });
        metricAttrs = { ...metricAttrs, [ATTR_ERROR_TYPE]: type };
      }
      span.end();
      t.instruments.operationDuration.record((performance.now() - started) / 1000, metricAttrs);
      if (attempt) endAttempt(t, attrs.process, attempt, settlement, outcome);
    }
  }

  return { process, settle };
}

/** Put the attempt's outcome on its span and in `messaging.process.duration`, then end it. */
function endAttempt(
  t: Telemetry,
  processAttrs: Attributes,
  { span, seconds, error }: Attempt,
  settlement: Settlement,
  outcome: SettleOutcome | undefined,
): void {
  let metricAttrs = processAttrs;
  switch (settlement.kind) {
    case "complete":
      break;
    case "snooze":
      span.addEvent(EVENT_SNOOZED, { [ATTR_QUEUEFLOW_JOB_DELAY_MS]: settlement.delayMs });
      break;
    case "retry":
    case "dead": {
      const type = errorType(error ?? settlement.error);
      span.recordException(error === undefined ? settlement.error : toException(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: settlement.error.message });
      span.setAttribute(ATTR_ERROR_TYPE, type);
      if (settlement.kind === "retry") {
        span.addEvent(EVENT_RETRY_SCHEDULED, {
          [ATTR_QUEUEFLOW_JOB_DELAY_MS]: settlement.delayMs,
          [ATTR_QUEUEFLOW_JOB_ATTEMPT]: settlement.error.attempt + 1,
        });
      } else {
        span.addEvent(EVENT_DEAD_LETTERED, { [ATTR_ERROR_TYPE]: type });
      }
      metricAttrs = { ...processAttrs, [ATTR_ERROR_TYPE]: type };
      break;
    }
  }
  if (outcome === "lease_lost") span.addEvent(EVENT_LEASE_LOST);
  t.instruments.processDuration.record(seconds, metricAttrs);
  span.end();
}

/** False for the no-op span of an API without SDK: nothing to activate for the callee. */
function hasContext(span: Span): boolean {
  return span.isRecording() || isSpanContextValid(span.spanContext());
}

function toException(err: unknown): Exception {
  return err instanceof Error ? err : errorMessage(err);
}
