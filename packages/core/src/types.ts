import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { JobRecord, Json } from "./job.js";

/**
 * Declare a queue's jobs once: name → payload and result types. `Queue` and `Worker` then
 * type-check `add` calls and handlers against it.
 * @example
 * type Jobs = {
 *   "email.send": { payload: { to: string }; result: { messageId: string } };
 *   "report.build": { payload: { month: string }; result: void };
 * };
 */
export type JobMap = { [name: string]: { payload: unknown; result: unknown } };

/** Any job map, used when the caller declares none. */
export type AnyJobMap = { [name: string]: { payload: Json; result: unknown } };

/** Job names of a map, as strings. */
export type JobName<M extends JobMap> = Extract<keyof M, string>;

/** A stored job with its payload and result typed from the job map. */
export type Job<M extends JobMap = AnyJobMap, N extends JobName<M> = JobName<M>> = Omit<
  JobRecord,
  "payload" | "result" | "name"
> & {
  name: N;
  payload: M[N]["payload"];
  result: M[N]["result"] | null;
};

/** Standard Schema validators (zod, valibot, arktype, …) per job name, checked at `add`. */
export type JobSchemas<M extends JobMap> = {
  [N in JobName<M>]?: StandardSchemaV1<unknown, M[N]["payload"]>;
};
