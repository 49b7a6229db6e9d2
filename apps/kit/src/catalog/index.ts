import type { JobContext } from "@queueflow/core";
import type { z } from "zod";
import { type CacheWarmResult, cacheWarm } from "./cache-warm.js";
import { type CleanupRunResult, cleanupRun } from "./cleanup-run.js";
import { type DataExportResult, dataExport } from "./data-export.js";
import { type EmailSendResult, emailSend } from "./email-send.js";
import { type FileThumbnailResult, fileThumbnail } from "./file-thumbnail.js";
import type { JobType } from "./job-type.js";
import { type NotificationSendResult, notificationSend } from "./notification-send.js";

export type {
  CacheWarmResult,
  CleanupRunResult,
  DataExportResult,
  EmailSendResult,
  FileThumbnailResult,
  JobType,
  NotificationSendResult,
};

/** Every job type the apps know, in the order the docs list them. */
export const JOB_TYPES = [
  emailSend,
  notificationSend,
  dataExport,
  fileThumbnail,
  cacheWarm,
  cleanupRun,
] as const;

type Entry = (typeof JOB_TYPES)[number];

/** A job type name: `email.send`, `data.export`, … */
export type JobTypeName = Entry["name"];

/** A catalog queue name. */
export type QueueName = Entry["queue"];

/** The job map of the whole catalog: payloads as the schemas output them, typed results. */
export type Jobs = {
  "email.send": { payload: z.output<typeof emailSend.payload>; result: EmailSendResult };
  "notification.send": {
    payload: z.output<typeof notificationSend.payload>;
    result: NotificationSendResult;
  };
  "data.export": { payload: z.output<typeof dataExport.payload>; result: DataExportResult };
  "file.thumbnail": {
    payload: z.output<typeof fileThumbnail.payload>;
    result: FileThumbnailResult;
  };
  "cache.warm": { payload: z.output<typeof cacheWarm.payload>; result: CacheWarmResult };
  "cleanup.run": { payload: z.output<typeof cleanupRun.payload>; result: CleanupRunResult };
};

/** The job map of one queue. */
export type QueueJobs<Q extends QueueName> = {
  [N in Extract<Entry, { queue: Q }>["name"]]: Jobs[N];
};

/** Every catalog queue, once each, in catalog order. */
export const QUEUE_NAMES: readonly QueueName[] = [...new Set(JOB_TYPES.map((t) => t.queue))];

const byName = new Map<string, Entry>(JOB_TYPES.map((t) => [t.name, t]));

/** The job type of that name, or undefined. */
export function findJobType(name: string): Entry | undefined {
  return byName.get(name);
}

/** True when `name` is a catalog queue. */
export function isQueueName(name: string): name is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(name);
}

/** The job types that run on a queue. */
export function jobTypesOf(queue: QueueName): Entry[] {
  return JOB_TYPES.filter((t) => t.queue === queue);
}

/** The queue's payload validators, keyed by job name, as `Queue`'s `schemas` option wants. */
export function schemasOf(queue: QueueName): Record<string, z.ZodType> {
  return Object.fromEntries(jobTypesOf(queue).map((t) => [t.name, t.payload as z.ZodType]));
}

/** What the handler of job type `N` receives. */
export type HandlerContext<N extends JobTypeName> = JobContext<Pick<Jobs, N>, Extract<N, string>>;
