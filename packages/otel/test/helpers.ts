import { MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

let counter = 0;

/** A fresh queue name per test, so tests never see each other's jobs. */
export function freshQueue(prefix = "otel"): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Poll `check` until it returns true or the deadline passes (then throw). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, what = "condition" }: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A tracer provider exporting to memory, passed explicitly rather than registered. */
export function memoryTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return {
    provider,
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    named: (name: string): ReadableSpan[] =>
      exporter.getFinishedSpans().filter((s) => s.name === name),
  };
}

/** A metric reader collected by hand, so a test reads exactly what one collection sees. */
class ManualReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point: its attributes and value (a number, or a histogram's count and sum). */
export interface Point {
  attributes: Record<string, unknown>;
  value: number;
  count?: number;
}

export function memoryMetrics() {
  const reader = new ManualReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    /** Collect once; returns every point of the metric `name`. */
    async collect(): Promise<(name: string) => Point[]> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      return (name) => points(resourceMetrics, name);
    },
  };
}

function points(rm: ResourceMetrics, name: string): Point[] {
  const out: Point[] = [];
  for (const scope of rm.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const dp of metric.dataPoints) {
        const v = dp.value as number | { count: number; sum?: number };
        out.push(
          typeof v === "number"
            ? { attributes: dp.attributes, value: v }
            : { attributes: dp.attributes, value: v.sum ?? 0, count: v.count },
        );
      }
    }
  }
  return out;
}
