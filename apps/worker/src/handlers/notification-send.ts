import { createHmac } from "node:crypto";
import type { HandlerContext, Logger, NotificationSendResult } from "@queueflow/app-kit";
import { UnrecoverableError } from "@queueflow/core";

export interface WebhookOptions {
  /** The gateway's URL; unset: log the notification instead (development). */
  url: string | undefined;
  secret: string | undefined;
  log: Logger;
}

/** Delivers `notification.send` jobs as a JSON POST to the configured webhook. */
export function createNotificationHandler(o: WebhookOptions) {
  if (!o.url)
    o.log.warn("NOTIFY_WEBHOOK_URL is not set: notification.send jobs are logged, not sent");
  return async (job: HandlerContext<"notification.send">): Promise<NotificationSendResult> => {
    if (!o.url) {
      o.log.info(
        { jobId: job.id, userId: job.payload.userId },
        "notification (not sent: no NOTIFY_WEBHOOK_URL)",
      );
      return { status: 0 };
    }
    const body = JSON.stringify({ id: job.id, attempt: job.attempt, ...job.payload });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      // Lets the receiver drop a redelivery (at-least-once means there can be one).
      "idempotency-key": job.id,
    };
    if (o.secret)
      headers["x-queueflow-signature"] =
        `sha256=${createHmac("sha256", o.secret).update(body).digest("hex")}`;
    const response = await fetch(o.url, {
      method: "POST",
      headers,
      body,
      signal: job.signal,
      redirect: "error",
    });
    // Drain the body so the connection goes back to the pool.
    await response.arrayBuffer();
    if (response.ok) return { status: response.status };
    // 4xx other than 408/429 is a request the gateway will keep refusing.
    if (
      response.status >= 400 &&
      response.status < 500 &&
      response.status !== 408 &&
      response.status !== 429
    ) {
      throw new UnrecoverableError(`Webhook refused the notification: HTTP ${response.status}`);
    }
    throw new Error(`Webhook answered HTTP ${response.status}`);
  };
}
