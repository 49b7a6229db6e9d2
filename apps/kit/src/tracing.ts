import type { Middleware } from "@queueflow/core";
import type { createInstrumentation } from "@queueflow/otel";
import type { Logger } from "pino";

export interface Tracing {
  /** Give to every Queue and Worker; empty when tracing is off. */
  middleware: Middleware[];
  /** The instrumentation, to observe workers and queues with. */
  instrumentation: ReturnType<typeof createInstrumentation> | null;
  /** Flush and stop the exporter. */
  shutdown(): Promise<void>;
}

/**
 * Start OpenTelemetry tracing when an OTLP endpoint is configured, exporting spans over
 * OTLP/HTTP to `<endpoint>/v1/traces`. The SDK is imported only then, so a process without an
 * endpoint loads none of it (and @queueflow/otel calls straight through).
 */
export async function startTracing(
  options: { endpoint: string | undefined; serviceName: string },
  log: Logger,
): Promise<Tracing> {
  if (options.endpoint === undefined) {
    return { middleware: [], instrumentation: null, shutdown: async () => {} };
  }
  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    otel,
  ] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@queueflow/otel"),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/$/, "")}/v1/traces` }),
      ),
    ],
  });
  // Registers the global tracer provider, the async context manager and the W3C propagator
  // that carries trace context inside each job's metadata.
  provider.register();
  // Created after register(), as @queueflow/otel's README requires.
  const instrumentation = otel.createInstrumentation();
  log.info({ endpoint: options.endpoint }, "tracing to OTLP endpoint");
  return {
    middleware: [instrumentation.middleware],
    instrumentation,
    shutdown: () => provider.shutdown(),
  };
}
