import type { TextMapGetter, TextMapSetter } from "@opentelemetry/api";
import type { Json } from "@queueflow/core";

/** A job's metadata, where trace context travels (W3C `traceparent`/`tracestate` by default). */
export type Metadata = { [key: string]: Json };

/** Writes propagation fields into job metadata, which the store keeps with the job. */
export const metadataSetter: TextMapSetter<Metadata> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** Reads propagation fields back; non-string values are someone else's metadata, not context. */
export const metadataGetter: TextMapGetter<Metadata> = {
  keys(carrier) {
    return Object.keys(carrier);
  },
  get(carrier, key) {
    const value = carrier[key];
    return typeof value === "string" ? value : undefined;
  },
};
