import type { Logger, QueueJobs, QueueName } from "@queueflow/app-kit";
import type { Handlers, StorageAdapter } from "@queueflow/core";
import type { WorkerConfig } from "../config.js";
import { createCacheWarmHandler } from "./cache-warm.js";
import { createCleanupHandler } from "./cleanup-run.js";
import { createExportHandler } from "./data-export.js";
import { createEmailHandler } from "./email-send.js";
import { createThumbnailHandler } from "./file-thumbnail.js";
import { createNotificationHandler } from "./notification-send.js";

/** The handlers of every catalog queue, typed against the catalog's job map. */
export type QueueHandlers = { [Q in QueueName]: Handlers<QueueJobs<Q>> };

/**
 * Build the handlers once per process, with what they need from the configuration. Each
 * queue's handler set is complete for its job types: the compiler checks it against the
 * catalog, so a job type without a handler does not build.
 */
export function createHandlers(
  config: WorkerConfig,
  adapter: StorageAdapter,
  log: Logger,
): { handlers: QueueHandlers; close: () => void } {
  const email = createEmailHandler({ url: config.smtp.url, from: config.smtp.from, log });
  const handlers: QueueHandlers = {
    emails: { "email.send": email.handler },
    notifications: {
      "notification.send": createNotificationHandler({ ...config.webhook, log }),
    },
    exports: {
      "data.export": createExportHandler({
        exportsDir: config.dirs.exports,
        tempDir: config.dirs.temp,
      }),
    },
    files: {
      "file.thumbnail": createThumbnailHandler({
        uploadsDir: config.dirs.uploads,
        thumbnailsDir: config.dirs.thumbnails,
        tempDir: config.dirs.temp,
      }),
    },
    maintenance: {
      "cache.warm": createCacheWarmHandler({ origin: config.cacheWarmOrigin, log }),
      "cleanup.run": createCleanupHandler({
        adapter,
        tempDir: config.dirs.temp,
        exportsDir: config.dirs.exports,
      }),
    },
  };
  return { handlers, close: email.close };
}
