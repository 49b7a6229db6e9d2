import type { JobOptions } from "@queueflow/core";
import type { z } from "zod";

/** One job type of the catalog: where it runs, what its payload must look like, defaults. */
export interface JobType<N extends string, Q extends string, S extends z.ZodType> {
  name: N;
  queue: Q;
  description: string;
  /** Checked by the API before anything is stored, and again by the queue at `add`. */
  payload: S;
  /** Job options the API applies unless the caller overrides them. */
  defaults: JobOptions;
}

/** Identity, typed: keeps each catalog entry's literal name, queue and schema. */
export function defineJobType<N extends string, Q extends string, S extends z.ZodType>(
  type: JobType<N, Q, S>,
): JobType<N, Q, S> {
  return type;
}
