import { z } from "zod";
import { defineJobType } from "./job-type.js";

/** A transactional email (welcome, password reset, receipt), sent over SMTP. */
export const emailSend = defineJobType({
  name: "email.send",
  queue: "emails",
  description: "Send one transactional email over SMTP.",
  payload: z.strictObject({
    to: z.email().max(254),
    subject: z.string().min(1).max(200),
    text: z.string().max(100_000).optional(),
    html: z.string().max(200_000).optional(),
    /** Defaults to the worker's SMTP_FROM. */
    replyTo: z.email().max(254).optional(),
  }),
  defaults: { priority: "high", attempts: 5, timeoutMs: 30_000 },
});

export type EmailSendResult = { messageId: string; accepted: number };
