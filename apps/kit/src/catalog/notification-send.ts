import { z } from "zod";
import { defineJobType } from "./job-type.js";

/**
 * A user notification, delivered as a webhook POST to the notification gateway the worker is
 * configured with (never a URL from the payload: that would let any caller make the worker
 * call any host).
 */
export const notificationSend = defineJobType({
  name: "notification.send",
  queue: "notifications",
  description: "POST a user notification to the configured webhook (push/SMS/in-app gateway).",
  payload: z.strictObject({
    userId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    title: z.string().min(1).max(200),
    message: z.string().min(1).max(2_000),
    type: z.enum(["info", "warning", "success", "error"]).default("info"),
    channels: z
      .array(z.enum(["push", "email", "sms", "in-app"]))
      .min(1)
      .max(4)
      .default(["in-app"]),
  }),
  defaults: { priority: "high", attempts: 4, timeoutMs: 15_000 },
});

export type NotificationSendResult = { status: number };
