import {
  createNoopMeter,
  type Meter,
  ProxyTracerProvider,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";

// The API hands out these no-op singletons while no SDK is registered.
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_METER_CLASS = createNoopMeter().constructor;

/**
 * Whether anything would record what the hooks do. Checked per call for traces, since the
 * global tracer provider is a proxy an SDK may fill in later; fixed at creation for metrics,
 * since a meter taken from the no-op provider stays a no-op. With neither, the hooks just
 * call through: the no-op API objects alone halved no-op job throughput
 * (bench/no-sdk-overhead.mjs).
 */
export function sdkPresence(explicit: TracerProvider | undefined, meter: Meter): () => boolean {
  if (explicit !== undefined || meter.constructor !== NOOP_METER_CLASS) return () => true;
  return () => {
    const global = trace.getTracerProvider();
    const delegate =
      global instanceof ProxyTracerProvider ? global.getDelegate() : (global as TracerProvider);
    return delegate !== NOOP_TRACER_PROVIDER;
  };
}
